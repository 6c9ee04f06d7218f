import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  cosine,
  decodeVector,
  DEFAULT_DIMENSION,
  encodeVector,
  featureKeys,
  vectorize,
  vectorizerVersion,
  type SparseVector,
} from '../../src/vectorize/index.ts';
import { features, NGRAM_WEIGHT } from '../../src/vectorize/features.ts';

const sim = (a: string, b: string): number => cosine(vectorize(a), vectorize(b));

function assertWellFormed(v: SparseVector, dimension = DEFAULT_DIMENSION): void {
  assert.equal(v.indices.length, v.values.length);
  let sumSquares = 0;
  for (let i = 0; i < v.indices.length; i++) {
    assert.ok(v.indices[i]! >= 0 && v.indices[i]! < dimension, 'index in range');
    if (i > 0) assert.ok(v.indices[i]! > v.indices[i - 1]!, 'indices strictly ascending');
    assert.notEqual(v.values[i], 0, 'no zero buckets');
    sumSquares += v.values[i]! * v.values[i]!;
  }
  if (v.indices.length > 0) assert.ok(Math.abs(sumSquares - 1) < 1e-5, `L2 norm² ${sumSquares}`);
}

test('vectors are sparse, ascending, L2-normalised, in range for every dimension', () => {
  const text = 'We store memories in PostgreSQL 15; getUserName() lives in src/store/db.ts. 数据库连接池。';
  for (const dimension of [2 ** 10, 2 ** 16, 2 ** 20, 2 ** 24]) assertWellFormed(vectorize(text, { dimension }), dimension);
  assertWellFormed(vectorize(text));
  assert.deepEqual(vectorize(text), vectorize(text, { dimension: DEFAULT_DIMENSION }));
  assert.equal(cosine(vectorize(text), vectorize(text)) > 0.9999, true);
});

test('features: words weigh 1, n-grams less, term frequency is sublinear, prefixes keep kinds apart', () => {
  const f = features('postgres postgres');
  assert.equal(f.get('w:postgr'), 1 + Math.log(2));
  assert.equal(f.get('g:^po'), NGRAM_WEIGHT * (1 + Math.log(2)));
  assert.equal(f.get('g:es$'), NGRAM_WEIGHT * (1 + Math.log(2)));
  assert.equal(features('abc').has('g:^ab'), false); // words under 4 characters get no n-grams
  assert.equal(features('2023').size, 1); // nor do numbers
  assert.equal(features('数据库').has('g:数据库'), false); // nor CJK runs
  for (const key of features('getUserName 数据 café')) assert.match(key[0], /^[wg]:/);
});

test('empty and garbage-only text gives the empty vector; cosine with it is 0, never NaN', () => {
  const empty = vectorize('');
  assert.equal(empty.indices.length, 0);
  assert.equal(empty.values.length, 0);
  for (const garbage of ['   ', '🎉🚀', '!!!', '\u0000\ud800', 'the and of']) {
    assert.equal(vectorize(garbage).indices.length, 0, JSON.stringify(garbage));
  }
  const v = vectorize('anything at all');
  assert.equal(cosine(empty, v), 0);
  assert.equal(cosine(v, empty), 0);
  assert.equal(cosine(empty, empty), 0);
  assert.equal(cosine(vectorize(''), vectorize('🎉')), 0);
});

test('similar texts score higher than unrelated ones', () => {
  const unrelated = 'The weather was sunny at the beach today';
  // English paraphrase: stemming and shared words.
  const q = 'How do I connect to the Postgres database?';
  assert.ok(sim(q, 'Connecting to a PostgreSQL database') > 0.5);
  assert.ok(sim(q, unrelated) < 0.05);
  // Chinese: unigrams and bigrams.
  assert.ok(sim('数据库连接失败', '连接数据库时失败了') > 0.5);
  assert.ok(sim('数据库连接失败', '今天天气很好') < 0.05);
  // Mixed Chinese, English and code.
  assert.ok(sim('用PostgreSQL存储记忆', 'Sage 把记忆存储在 PostgreSQL 里') > sim('用PostgreSQL存储记忆', '我喜欢吃苹果') + 0.3);
  // Identifiers across styles share their pieces.
  assert.ok(sim('getUserName', 'get_user_name') > 0.5);
  assert.ok(sim('getUserName', 'the user name getter') > sim('getUserName', unrelated) + 0.2);
});

test('one typo keeps a useful similarity through character n-grams', () => {
  assert.ok(sim('postgrse', 'postgres') >= 0.3, `postgrse/postgres ${sim('postgrse', 'postgres')}`);
  assert.ok(sim('databse', 'database') >= 0.3);
  assert.ok(sim('conection pool', 'connection pool') >= 0.5);
  assert.ok(sim('postgrse', 'postgres database') > 0.2);
  assert.ok(sim('postgrse', 'sunny weather today') < 0.05);
  // The correctly spelt word still wins.
  assert.ok(sim('postgres', 'postgres database') > sim('postgrse', 'postgres database'));
});

test('cosine is a merge walk that needs no shared length and clamps rounding', () => {
  const a: SparseVector = { indices: Int32Array.from([1, 5, 9]), values: Float32Array.from([0.6, 0, 0.8]) };
  const b: SparseVector = { indices: Int32Array.from([0, 1, 9, 12]), values: Float32Array.from([0.5, 0.5, 0.5, 0.5]) };
  assert.ok(Math.abs(cosine(a, b) - (0.6 * 0.5 + 0.8 * 0.5)) < 1e-6);
  assert.equal(cosine(a, b), cosine(b, a));
  const x: SparseVector = { indices: Int32Array.from([3]), values: Float32Array.from([1.0000001]) };
  assert.equal(cosine(x, x), 1);
});

test('dimension validation: a power of two between 2^10 and 2^24, else a clear RangeError', () => {
  for (const dimension of [1000, 2 ** 9, 2 ** 25, 0, -1024, 1024.5, Number.NaN, Infinity, 3 * 2 ** 12]) {
    assert.throws(() => vectorize('text', { dimension }), (e: unknown) => e instanceof RangeError && /power of two/.test(e.message));
    assert.throws(() => vectorizerVersion({ dimension }), RangeError);
  }
  assert.doesNotThrow(() => vectorize('text', { dimension: 2 ** 10 }));
  assert.doesNotThrow(() => vectorize('text', {}));
});

test('vectorizerVersion encodes algorithm, hash, seed and dimension', () => {
  assert.equal(vectorizerVersion(), 'hv1-murmur3_32-s0x5a6e-d1048576');
  assert.equal(vectorizerVersion({ dimension: 2 ** 16 }), 'hv1-murmur3_32-s0x5a6e-d65536');
  assert.notEqual(vectorizerVersion({ dimension: 2 ** 16 }), vectorizerVersion());
});

test('featureKeys are the indices, as a copy', () => {
  const v = vectorize('connection pool size');
  const keys = featureKeys(v);
  assert.deepEqual(keys, v.indices);
  keys[0] = -1;
  assert.notEqual(v.indices[0], -1);
});

test('encode/decode: compact little-endian layout and exact round trip', () => {
  const v = vectorize('round trip 往返 getUserName');
  const bytes = encodeVector(v);
  assert.equal(bytes.length, 4 + 8 * v.indices.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint32(0, true), v.indices.length);
  assert.equal(view.getInt32(4, true), v.indices[0]);
  assert.equal(view.getFloat32(4 + 4 * v.indices.length, true), v.values[0]);
  assert.deepEqual(decodeVector(bytes), v);
  assert.deepEqual(decodeVector(encodeVector(vectorize(''))), vectorize(''));
  assert.deepEqual(Array.from(encodeVector(vectorize(''))), [0, 0, 0, 0]);
  // A Buffer view at an odd offset (as a driver may hand back) decodes too.
  const shifted = Buffer.alloc(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(decodeVector(shifted.subarray(1)), v);
});

test('decodeVector rejects malformed input with a clear Error', () => {
  const bytes = encodeVector(vectorize('some memory text'));
  const expectError = (input: Uint8Array, pattern: RegExp): void => {
    assert.throws(() => decodeVector(input), (e: unknown) => e instanceof Error && e.message.startsWith('decodeVector:') && pattern.test(e.message));
  };
  expectError(new Uint8Array(0), /too short/);
  expectError(new Uint8Array(3), /too short/);
  expectError(bytes.subarray(0, bytes.length - 1), /header says/);
  expectError(bytes.subarray(0, 12), /header says/);
  const longer = new Uint8Array(bytes.length + 8);
  longer.set(bytes);
  expectError(longer, /header says/);
  const huge = new Uint8Array(4);
  new DataView(huge.buffer).setUint32(0, 0xffffffff, true);
  expectError(huge, /header says/);
  const descending = encodeVector({ indices: Int32Array.from([5, 3]), values: Float32Array.from([0.6, 0.8]) });
  expectError(descending, /ascending/);
  const negative = encodeVector({ indices: Int32Array.from([-2]), values: Float32Array.from([1]) });
  expectError(negative, /negative/);
  const nan = encodeVector({ indices: Int32Array.from([2]), values: Float32Array.from([Number.NaN]) });
  expectError(nan, /not finite/);
});

test('deterministic across processes: two fresh Node processes encode identically', () => {
  const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
  const moduleUrl = new URL('../../src/vectorize/index.ts', import.meta.url).href;
  const texts = ['The engineers were running database migrations.', '我们用数据库存储长期记忆。', 'pg.Pool getUserName src/db.ts 8080', ''];
  const script = `
    const m = await import(${JSON.stringify(moduleUrl)});
    const texts = ${JSON.stringify(texts)};
    console.log(JSON.stringify(texts.map((t) => Buffer.from(m.encodeVector(m.vectorize(t))).toString('hex'))));`;
  const run = (): string[] => JSON.parse(execFileSync(node, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
  const first = run();
  const second = run();
  assert.deepEqual(first, second);
  assert.deepEqual(first, texts.map((t) => Buffer.from(encodeVector(vectorize(t))).toString('hex')));
});

/** CPU time, not wall time: the test machine is shared and wall time measures the neighbours. */
function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

test('1 MB of mixed text vectorizes in under a second, and hostile inputs stay linear', () => {
  const MB = 1 << 20;
  const sample = 'We store memories in PostgreSQL 15 and call getUserName() from src/store/db.ts on port 8080. 数据库连接池的大小设为十。 ';
  const text = sample.repeat(Math.ceil(MB / sample.length)).slice(0, MB);
  vectorize(sample); // load and compile outside the measurement
  const ms = cpuMs(() => assertWellFormed(vectorize(text)));
  assert.ok(ms < 1000, `1 MB took ${ms.toFixed(0)} ms of CPU`);
  const hostile = ['a'.repeat(MB), 'a' + '.'.repeat(MB), 'a.'.repeat(MB / 2), 'aB'.repeat(MB / 2), '\u0000'.repeat(MB), '\ud800'.repeat(MB), '🎉'.repeat(MB / 2)];
  for (const h of hostile) {
    const hms = cpuMs(() => vectorize(h));
    assert.ok(hms < 1000, `${JSON.stringify(h.slice(0, 4))}… took ${hms.toFixed(0)} ms of CPU`);
  }
});
