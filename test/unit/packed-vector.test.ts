import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dot, pack, packedBytes, toSparse, unpack } from '../../src/memory/packed-vector.ts';
import { cosine, DEFAULT_DIMENSION, encodeVector, vectorize, type SparseVector } from '../../src/vectorize/index.ts';

const TEXTS = [
  'Postgres connection pooling with pgbouncer: transaction mode breaks prepared statements',
  'fix the flaky test in src/store/db.ts — retry on 57P01 admin shutdown',
  '数据库连接池配置 pgbouncer 事务模式',
  'a',
  '',
  'The quick brown fox jumps over the lazy dog. '.repeat(40),
];

function normalized(indices: number[], values: number[]): SparseVector {
  const norm = Math.sqrt(values.reduce((s, x) => s + x * x, 0));
  return { indices: Int32Array.from(indices), values: Float32Array.from(values.map((x) => x / norm)) };
}

test('pack and unpack are lossless', () => {
  for (const text of TEXTS) {
    const v = vectorize(text, { dimension: DEFAULT_DIMENSION });
    const back = unpack(pack(v));
    assert.deepEqual(back.indices, v.indices, text.slice(0, 30));
    assert.deepEqual(back.values, v.values, text.slice(0, 30));
  }
});

test('dot is cosine to the bit, and undefined when no bucket is shared', () => {
  const vectors = TEXTS.map((t) => vectorize(t, { dimension: DEFAULT_DIMENSION }));
  for (const q of vectors) {
    for (const d of vectors) {
      const shared = q.indices.some((i) => d.indices.includes(i));
      const got = dot(q, pack(d));
      if (!shared) assert.equal(got, undefined);
      else assert.equal(got, cosine(q, d));
    }
  }
});

test('gaps of 65,536 and more, index 0 and the top bucket survive packing', () => {
  const v = normalized([0, 1, 65_536, 65_537, 200_000, 2 ** 24 - 1], [1, -2, 3, 0.5, -0.25, 4]);
  const p = pack(v);
  assert.deepEqual(unpack(p), v);
  const q = normalized([1, 200_000, 2 ** 24 - 1], [1, 1, 1]);
  assert.equal(dot(q, p), cosine(q, v));
});

test('more than 256 distinct values are stored plainly', () => {
  const indices = Array.from({ length: 600 }, (_, i) => i * 7);
  const values = indices.map((_, i) => (i % 2 ? -1 : 1) * (1 + i / 1000));
  const v = normalized(indices, values);
  const p = pack(v);
  assert.equal(p.codes, undefined);
  assert.deepEqual(unpack(p), v);
  assert.equal(dot(v, p), cosine(v, v));
  const after = vectorize(TEXTS[0]!, { dimension: DEFAULT_DIMENSION });
  assert.deepEqual(unpack(pack(after)), after, 'a full palette leaves nothing behind for the next vector');
});

test('+0 and -0 stay distinct values', () => {
  const v = { indices: Int32Array.from([3, 9, 12]), values: Float32Array.from([0, -0, 1]) };
  const back = unpack(pack(v));
  assert.ok(Object.is(back.values[0], 0) && Object.is(back.values[1], -0));
});

test('a typical memory vector packs into well under half its plain size', () => {
  const v = vectorize(TEXTS[0]!.repeat(3) + ' ' + TEXTS[1], { dimension: DEFAULT_DIMENSION });
  assert.ok(packedBytes(pack(v)) < 0.5 * (v.indices.byteLength + v.values.byteLength), `${packedBytes(pack(v))} bytes packed, ${v.indices.byteLength + v.values.byteLength} plain`);
});

test('an encoded vector (base64, as ranking queries return it) gives cosine to the bit, and decodes whole', () => {
  const vectors = TEXTS.map((t) => vectorize(t, { dimension: DEFAULT_DIMENSION }));
  for (const q of vectors) {
    for (const d of vectors) {
      const encoded = { base64: Buffer.from(encodeVector(d)).toString('base64') };
      const shared = q.indices.some((i) => d.indices.includes(i));
      const got = dot(q, encoded);
      if (!shared) assert.equal(got, undefined);
      else assert.equal(got, cosine(q, d));
      assert.deepEqual(toSparse(encoded), d);
    }
  }
  // A vector larger than the reused decoding buffer, then a small one again.
  const big = normalized(Array.from({ length: 5000 }, (_, i) => i * 3), Array.from({ length: 5000 }, (_, i) => (i % 7) + 1));
  assert.equal(dot(big, { base64: Buffer.from(encodeVector(big)).toString('base64') }), cosine(big, big));
  const small = vectors[0]!;
  assert.equal(dot(small, { base64: Buffer.from(encodeVector(small)).toString('base64') }), cosine(small, small));
});

test('a malformed encoded vector is refused with the decoder\'s error', () => {
  const q = vectorize('pgbouncer', { dimension: DEFAULT_DIMENSION });
  const bytes = encodeVector(q);
  assert.throws(() => dot(q, { base64: Buffer.from(bytes.subarray(0, bytes.length - 4)).toString('base64') }), /decodeVector: header says/);
  assert.throws(() => dot(q, { base64: '' }), /too short/);
});
