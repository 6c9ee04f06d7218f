/** Temp directories for tests, removed after the test (t.after) and in any case at process exit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const pending = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const dir of pending) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  pending.clear();
}

/** Create `$TMPDIR/<prefix>XXXXXX`; removed via t.after when t is given, else at process exit. */
export function makeTempDir(t?: { after(fn: () => unknown): void }, prefix = 'sage-test-'): string {
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAll);
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  pending.add(dir);
  t?.after(() => {
    pending.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
