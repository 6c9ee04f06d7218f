/**
 * `sage export`, `sage import` and `sage reindex` as processes (the sources, or the binary with
 * SAGE_TEST_BINARY=dist/sage): stdout carries only data, summaries and errors go to stderr,
 * exit codes, the output file's mode, and a round trip through a pipe.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setLogLevel } from '../../src/log.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { sageCommand } from '../helpers/mcp.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { makeTempDir } from '../helpers/tmp.ts';

setLogLevel('warn');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sage(args: string[], env: Record<string, string>, input?: string | Buffer): Promise<Run> {
  const { command, args: base } = sageCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...base, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SAGE_LOG_LEVEL: 'debug', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

async function database(t: { after(fn: () => unknown): void }): Promise<{ url: string; db: Database }> {
  const created = await createTestDatabase();
  const db = new Database({ url: created.url, max: 2 });
  t.after(async () => {
    await db.close();
    await created.drop();
  });
  await db.ready();
  return { url: created.url, db };
}

function withoutExportedAt(text: string): string {
  return text.replace(/"exported_at":"[^"]*"/, '"exported_at":"-"');
}

test('export to stdout | import from stdin: data only on stdout, summaries on stderr, idempotent, tenant-scoped', async (t) => {
  const source = await database(t);
  const service = new MemoryService(source.db, { dimension: 2 ** 20 });
  await service.save({ tenant: 'a', project: 'web' }, { kind: 'turn', userText: '怎么部署？', content: 'Deploy with `make release` 🚀', session: 's1', tags: ['ops'] });
  await service.save({ tenant: 'a', project: 'api' }, { kind: 'fact', content: 'The API rate limit is 100 requests per minute', metadata: { source: 'docs' } });
  await service.save({ tenant: 'b', project: 'web' }, { kind: 'note', content: 'Tenant b private note' });

  const exported = await sage(['export'], { DATABASE_URL: source.url, SAGE_TENANT: 'a' });
  assert.equal(exported.code, 0, exported.stderr);
  const lines = exported.stdout.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    records.map((r) => r.type),
    ['sage-export', 'session', 'memory', 'memory'],
  );
  assert.equal(records[0]!.tenant, 'a');
  assert.ok(!exported.stdout.includes('Tenant b'));
  assert.match(exported.stderr, /sage export: exported 2 memories and 1 sessions of tenant "a" to stdout/);

  const target = await database(t);
  const imported = await sage(['import'], { DATABASE_URL: target.url, SAGE_TENANT: 'a' }, exported.stdout);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(imported.stdout, '', 'import writes nothing on stdout without --json');
  assert.match(imported.stderr, /sage import: imported 2, duplicates 0, skipped 0 \(already present\) of 2 memories; 1 sessions \(1 new\) into tenant "a"/);

  const again = await sage(['import', '-', '--json'], { DATABASE_URL: target.url, SAGE_TENANT: 'a' }, exported.stdout);
  assert.equal(again.code, 0, again.stderr);
  const summary = JSON.parse(again.stdout) as Record<string, unknown>;
  assert.equal(summary.imported, 0);
  assert.equal(summary.skipped, 2);
  assert.equal(summary.error, null);

  const back = await sage(['export'], { DATABASE_URL: target.url, SAGE_TENANT: 'a' });
  assert.equal(back.code, 0, back.stderr);
  assert.equal(withoutExportedAt(back.stdout), withoutExportedAt(exported.stdout));
});

test('export --out writes a private file only when complete; --project filters', async (t) => {
  const source = await database(t);
  const service = new MemoryService(source.db, { dimension: 2 ** 20 });
  await service.save({ tenant: 'local', project: 'one' }, { kind: 'note', content: 'first project note' });
  await service.save({ tenant: 'local', project: 'two' }, { kind: 'note', content: 'second project note' });
  const dir = makeTempDir(t);
  const file = join(dir, 'backup.jsonl');

  const run = await sage(['export', '--out', file, '--project', 'two'], { DATABASE_URL: source.url });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['backup.jsonl'], 'no temporary file is left behind');
  const text = readFileSync(file, 'utf8');
  assert.ok(text.includes('second project note') && !text.includes('first project note'));

  const missing = await sage(['export', '--out', join(dir, 'no/such/dir/x.jsonl')], { DATABASE_URL: source.url });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /sage export: cannot create .*ENOENT/);

  const checked = await sage(['import', '--dry-run', file], {});
  assert.equal(checked.code, 0, checked.stderr);
  assert.match(checked.stderr, /valid: 1 memories and 0 sessions in 2 lines; nothing written/);
});

test('import: a bad line exits 1 naming the line; usage errors exit 2', async (t) => {
  const target = await database(t);
  const dir = makeTempDir(t);
  const header = JSON.stringify({ type: 'sage-export', version: 1, sage_version: '0.1.0', vectorizer_version: 'x', tenant: 'local', exported_at: '2025-01-01T00:00:00Z' });
  const good = JSON.stringify({ type: 'memory', id: crypto.randomUUID(), project: 'p', kind: 'note', content: 'kept', created_at: '2025-01-01T00:00:00Z' });
  const bad = JSON.stringify({ type: 'memory', id: crypto.randomUUID(), project: 'p', kind: 'thought', content: 'x', created_at: '2025-01-01T00:00:00Z' });
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, [header, good, bad, good.replace('kept', 'never')].join('\n'));

  const run = await sage(['import', file, '--json'], { DATABASE_URL: target.url });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /sage import: line 3: field "kind": Invalid option/);
  assert.match(run.stderr, /Fix that line and run the same import again/);
  assert.match(run.stderr, /imported 1, duplicates 0, skipped 0/);
  assert.equal((JSON.parse(run.stdout) as { imported: number }).imported, 1);
  const rows = await target.db.pool.query<{ content: string }>('SELECT content FROM memories');
  assert.deepEqual(rows.rows, [{ content: 'kept' }]);

  assert.equal((await sage(['import', 'a', 'b'], { DATABASE_URL: target.url })).code, 2);
  assert.equal((await sage(['import', '--bogus'], { DATABASE_URL: target.url })).code, 2);
  const missing = await sage(['import', join(dir, 'nope.jsonl')], { DATABASE_URL: target.url });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.jsonl: ENOENT/);
  const noDb = await sage(['import', file], {});
  assert.equal(noDb.code, 2);
  assert.match(noDb.stderr, /DATABASE_URL is not set/);
});

test('reindex after SAGE_VECTOR_DIMENSION changes, then nothing to do', async (t) => {
  const target = await database(t);
  const service = new MemoryService(target.db, { dimension: 2 ** 20 });
  for (let i = 0; i < 5; i++) await service.save({ tenant: 'local', project: 'p' }, { kind: 'note', content: `Reindex me, note ${i}` });
  const env = { DATABASE_URL: target.url, SAGE_VECTOR_DIMENSION: '4096' };
  const run = await sage(['reindex', '--json'], env);
  assert.equal(run.code, 0, run.stderr);
  const summary = JSON.parse(run.stdout) as { total: number; reindexed: number; vectorizer_version: string };
  assert.equal(summary.reindexed, 5);
  assert.match(summary.vectorizer_version, /-d4096$/);
  assert.match(run.stderr, /sage reindex: reindexed 5 memories of tenant "local" with .*-d4096/);
  const again = await sage(['reindex'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /nothing to do/);
  const all = await sage(['reindex', '--all', '--json'], env);
  assert.equal((JSON.parse(all.stdout) as { reindexed: number }).reindexed, 5);
});
