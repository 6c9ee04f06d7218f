/**
 * Golden values: they pin the exact output of the vectorizer. Stored vectors are only
 * comparable with vectors made by the same algorithm, so any change that makes one of these
 * tests fail must also bump the algorithm tag in src/vectorize/version.ts (hv1 → hv2) and
 * then update the values here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { analyze, encodeVector, vectorize, vectorizerVersion } from '../../src/vectorize/index.ts';

interface Golden {
  name: string;
  text: string;
  terms: string[];
  count: number;
  /** The first (index, value rounded to 6 dp) pairs at dimension 2^20. */
  first: Array<[number, number]>;
  /** First 16 hex digits of sha256 over the encoded vector: pins every bucket and value. */
  digest: string;
}

const GOLDEN: Golden[] = [
  {
    name: 'English sentence',
    text: 'The engineers were running database migrations quickly before the release.',
    terms: ['engineer', 'run', 'databas', 'migration', 'quick', 'releas'],
    count: 52,
    first: [
      [21568, 0.10065],
      [23141, -0.287571],
      [41821, 0.10065],
      [85036, -0.10065],
      [86854, 0.10065],
    ],
    digest: '1fa4a33c4e00790a',
  },
  {
    name: 'Chinese sentence',
    text: '我们用数据库存储长期记忆。',
    terms: [
      '我', '们', '用', '数', '据', '库', '存', '储', '长', '期', '记', '忆',
      '我们', '们用', '用数', '数据', '据库', '库存', '存储', '储长', '长期', '期记', '记忆',
    ],
    count: 23,
    first: [
      [35979, -0.208514],
      [48532, 0.208514],
      [65956, 0.208514],
      [125832, 0.208514],
      [179405, -0.208514],
    ],
    digest: '7e4115c3d2bd6afc',
  },
  {
    name: 'mixed Chinese, English and code',
    text: '用PostgreSQL存储记忆, then call pg.Pool.connect() in src/store/db.ts',
    terms: [
      '用', 'postgr', 'sql', 'postgresql', '存', '储', '记', '忆', '存储', '储记', '记忆',
      'call', 'pg', 'pool', 'connect', 'pg.pool.connect', 'src', 'store', 'db', 'ts', 'db.ts', 'src/store/db.ts',
    ],
    count: 47,
    first: [
      [7617, 0.197952],
      [57604, -0.197952],
      [65956, 0.197952],
      [78913, 0.069283],
      [124434, 0.117307],
    ],
    digest: '9b5d9b75edc7b612',
  },
  {
    name: 'identifier-heavy line',
    text: 'const userName = getUserName(HTTPServer, snake_case_id, parseJSON2);',
    terms: [
      'const', 'user', 'name', 'username', 'get', 'user', 'name', 'getusername', 'http', 'server', 'httpserver',
      'snake', 'case', 'id', 'snake_case_id', 'pars', 'json2', 'parsejson2',
    ],
    count: 55,
    first: [
      [21746, -0.326174],
      [31179, -0.192644],
      [73076, 0.067425],
      [82183, 0.067425],
      [138992, 0.192644],
    ],
    digest: 'aaa0c9b2735622d5',
  },
  { name: 'empty string', text: '', terms: [], count: 0, first: [], digest: 'df3f619804a92fdb' },
  { name: 'emoji only', text: '🎉🚀✨👍🏽', terms: [], count: 0, first: [], digest: 'df3f619804a92fdb' },
];

test('golden: vectorizer version', () => {
  assert.equal(vectorizerVersion(), 'hv1-murmur3_32-s0x5a6e-d1048576');
});

for (const g of GOLDEN) {
  test(`golden: ${g.name}`, () => {
    assert.deepEqual(analyze(g.text).terms, g.terms);
    const v = vectorize(g.text, { dimension: 2 ** 20 });
    assert.equal(v.indices.length, g.count);
    const first = Array.from(v.indices.subarray(0, g.first.length), (index, i): [number, number] => [index, Number(v.values[i]!.toFixed(6))]);
    assert.deepEqual(first, g.first);
    assert.equal(createHash('sha256').update(encodeVector(v)).digest('hex').slice(0, 16), g.digest);
  });
}
