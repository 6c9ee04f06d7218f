import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateKeys } from '../../src/memory/vector-keys.ts';
import { analyze, vectorize } from '../../src/vectorize/index.ts';
import { featureBucket } from '../../src/vectorize/vector.ts';

const D = 2 ** 20;

test('selective terms select by their word bucket only; known words add no 3-grams', () => {
  const query = 'pgbouncer pooling timeout';
  const terms = analyze(query).terms;
  const df = new Map(terms.map((t) => [t, 10] as const));
  const keys = candidateKeys(query, df, ['pgbouncer'], D);
  assert.deepEqual([...keys], [featureBucket('w:pgbouncer', D)]);
  // Every query bucket would have been dozens.
  assert.ok(vectorize(query, { dimension: D }).indices.length > 15);
});

test('a word no memory contains (a typo) selects by all its buckets, 3-grams included', () => {
  const query = 'pgbuoncer timeout';
  const df = new Map([
    ['pgbuoncer', 0],
    [analyze('timeout').terms[0]!, 500],
  ]);
  const keys = new Set(candidateKeys(query, df, [], D));
  const typo = vectorize('pgbuoncer', { dimension: D }).indices;
  for (const k of typo) assert.ok(keys.has(k), `bucket ${k} of the unknown word`);
  assert.equal(keys.size, typo.length, 'nothing from the known, common word');
  assert.ok(keys.has(featureBucket('g:^pg', D)));
});

test('keys are sorted and unique', () => {
  const keys = candidateKeys('pgbuoncer pgbuoncer', new Map(), ['a', 'b', 'a'], D);
  const sorted = [...keys].sort((x, y) => x - y);
  assert.deepEqual([...keys], sorted);
  assert.equal(new Set(keys).size, keys.length);
});
