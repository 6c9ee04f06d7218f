import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dot, fromStored, isPacked, isStoredPacked, pack, packedBytes, readPacked, storedVector, toSparse, unpack } from '../../src/memory/packed-vector.ts';
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

/** The vectors of TEXTS plus the edge cases of the packed layout: a gap ≥ 65,536 (escaped) and a full palette (plain values). */
function storedCases(): SparseVector[] {
  const vectors = TEXTS.map((t) => vectorize(t, { dimension: DEFAULT_DIMENSION }));
  vectors.push(normalized([3, 70_000, 200_000, 1_048_575], [1, 2, 3, 4]));
  vectors.push(normalized(Array.from({ length: 300 }, (_, i) => i * 5), Array.from({ length: 300 }, (_, i) => i + 1)));
  return vectors;
}

test('a vector is stored packed (~40% of vectorize\'s encoding) and read back to the bit, in place or from a copy', () => {
  for (const v of storedCases()) {
    const bytes = storedVector(v);
    assert.ok(isStoredPacked(bytes));
    assert.ok(!isStoredPacked(encodeVector(v)), 'vectorize\'s encoding is told apart by its first word');
    const read = fromStored(bytes);
    assert.ok(isPacked(read));
    assert.deepEqual(unpack(read), v);
    // At an odd offset of a shared buffer, as the driver may hand a bytea over: copied, same vector.
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    assert.deepEqual(unpack(readPacked(shifted.subarray(1))), v);
  }
  const typical = vectorize(TEXTS[0]!.repeat(8), { dimension: DEFAULT_DIMENSION });
  assert.ok(storedVector(typical).byteLength < 0.45 * encodeVector(typical).byteLength, `${storedVector(typical).byteLength} bytes stored, ${encodeVector(typical).byteLength} in vectorize's encoding`);
});

test('rows stored in vectorize\'s encoding (before the packed layout) still read, rank and decode the same', () => {
  const vectors = storedCases();
  for (const q of vectors) {
    for (const d of vectors) {
      const packed = { base64: Buffer.from(storedVector(d)).toString('base64') };
      const plain = { base64: Buffer.from(encodeVector(d)).toString('base64') };
      const shared = q.indices.some((i) => d.indices.includes(i));
      assert.equal(dot(q, packed), shared ? cosine(q, d) : undefined);
      assert.equal(dot(q, plain), shared ? cosine(q, d) : undefined);
      assert.equal(dot(q, fromStored(storedVector(d))), shared ? cosine(q, d) : undefined);
    }
    assert.deepEqual(toSparse({ base64: Buffer.from(storedVector(q)).toString('base64') }), q);
    assert.deepEqual(fromStored(encodeVector(q)), q);
  }
});

test('malformed stored bytes are refused with an error that names the problem', () => {
  const v = vectorize(TEXTS[0]!, { dimension: DEFAULT_DIMENSION });
  const good = storedVector(v);
  const bad = (edit: (b: Uint8Array, view: DataView) => Uint8Array | void): Uint8Array => {
    const b = Uint8Array.from(good);
    return edit(b, new DataView(b.buffer)) ?? b;
  };
  const paletteLength = new DataView(good.buffer).getUint16(8, true);
  const gapsAt = 12 + 4 * paletteLength;
  const cases: Array<[Uint8Array, RegExp]> = [
    [good.subarray(0, 8), /too short/],
    [good.subarray(0, good.byteLength - 1), /header says/],
    [bad((_, d) => d.setUint16(10, 7, true)), /unknown flags 7/],
    [bad((_, d) => d.setUint16(8, 0, true)), /palette of 0/],
    [bad((b) => { b[b.byteLength - 1] = 255; }), /outside the palette/],
    [bad((_, d) => d.setUint16(gapsAt + 2, 0, true)), /escaped gap|gaps end|left over/],
    [bad((_, d) => d.setFloat32(12, Number.NaN, true)), /not finite/],
  ];
  for (const [bytes, pattern] of cases) {
    assert.throws(() => fromStored(bytes), (e: unknown) => e instanceof Error && e.message.startsWith('stored vector:') && pattern.test(e.message), String(pattern));
    assert.throws(() => dot(v, { base64: Buffer.from(bytes).toString('base64') }), (e: unknown) => e instanceof Error && pattern.test(e.message), `dot: ${String(pattern)}`);
  }
});
