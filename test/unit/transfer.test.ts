/** The JSONL line reader of import and the CLI progress line: no database needed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCount, Progress } from '../../src/cli/progress.ts';
import { readLines, type Line } from '../../src/memory/transfer.ts';

async function collect(chunks: Array<Uint8Array | string>, max?: number): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(chunks, max)) out.push(line);
  return out;
}

test('readLines splits on LF and CRLF across chunk boundaries, also inside a multi-byte character', async () => {
  const text = '\uFEFFfirst 🚀\r\nsecond 数据\n\nlast without newline';
  const bytes = Buffer.from(text, 'utf8');
  for (const size of [1, 2, 3, 5, 7, bytes.length]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
    const lines = await collect(chunks);
    assert.deepEqual(
      lines.map((l) => [l.number, l.text]),
      [
        [1, 'first 🚀'],
        [2, 'second 数据'],
        [3, ''],
        [4, 'last without newline'],
      ],
      `chunk size ${size}`,
    );
    assert.equal(lines[0]!.offset, Buffer.byteLength('\uFEFFfirst 🚀\r\n'));
  }
  assert.deepEqual(await collect(['a\n']), [{ number: 1, text: 'a', offset: 2 }]);
  assert.deepEqual(await collect([]), []);
});

test('readLines names the line that is not UTF-8 or is too long', async () => {
  await assert.rejects(collect([Buffer.from('ok\n'), Buffer.from([0x22, 0xc3, 0x28, 0x22, 0x0a])]), /line 2: not valid UTF-8/);
  await assert.rejects(collect(['short\n', 'x'.repeat(50), 'y'.repeat(60), '\n'], 100), /line 2: longer than 100 bytes/);
  await assert.rejects(collect(['short\n', 'x'.repeat(101) + '\n'], 100), /line 2: longer than 100 bytes/);
});

function fakeStream(isTTY: boolean): { written: string[]; write(text: string): boolean; isTTY: boolean } {
  const written: string[] = [];
  return { written, isTTY, write: (text: string) => written.push(text) > 0 };
}

test('progress off a terminal: a plain line per interval with count, rate, percentage and time left; quiet before', () => {
  let now = 0;
  const stream = fakeStream(false);
  const progress = new Progress('sage import', { stream, intervalMs: 5000, now: () => now });
  now = 1000;
  progress.update(1000, 'memories', 0.1);
  assert.deepEqual(stream.written, [], 'nothing before the first interval');
  now = 5000;
  progress.update(12_000, 'memories', 0.25, '11,000 new');
  assert.deepEqual(stream.written, ['sage import: 12,000 memories, 2,400/s, 25%, about 15s left, 11,000 new\n']);
  now = 6000;
  progress.update(13_000, 'memories', 0.3);
  assert.equal(stream.written.length, 1, 'throttled');
  progress.finish('imported 13,000');
  assert.equal(stream.written.at(-1), 'sage import: imported 13,000\n');
  assert.equal(progress.elapsed(), 6);
});

test('progress on a terminal redraws one line in place and clears it before the summary', () => {
  let now = 0;
  const stream = fakeStream(true);
  const progress = new Progress('sage export', { stream, now: () => now });
  now = 200;
  progress.update(500, 'memories');
  now = 250;
  progress.update(600, 'memories');
  now = 400;
  progress.update(1000, 'memories');
  assert.deepEqual(stream.written, ['\r\x1b[2Ksage export: 500 memories, 2,500/s', '\r\x1b[2Ksage export: 1,000 memories, 2,500/s']);
  progress.finish('done');
  assert.deepEqual(stream.written.slice(2), ['\r\x1b[2K', 'sage export: done\n']);
  assert.equal(formatCount(1234567.4), '1,234,567');
  assert.equal(formatCount(999), '999');
});
