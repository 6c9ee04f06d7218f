import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatsCache } from '../../src/memory/stats-cache.ts';

test('kept statistics expire after ttlMs, and only frequencies of at least minDf are kept', () => {
  const cache = new StatsCache({ ttlMs: 1000, minDf: 100 });
  assert.equal(cache.get('a', 0), undefined);
  cache.addFrequencies('a', [['the', 500]], 0); // no size kept yet: nothing to add to
  assert.equal(cache.get('a', 0), undefined);
  cache.setSize('a', 5000, 0);
  cache.addFrequencies('a', [['pool', 400], ['pgbouncer', 99], ['fix', 100]], 10);
  const kept = cache.get('a', 999)!;
  assert.equal(kept.n, 5000);
  assert.deepEqual([...kept.dfs], [['pool', 400], ['fix', 100]]);
  assert.equal(cache.get('b', 999), undefined, 'scopes are apart');
  assert.equal(cache.get('a', 1000), undefined, 'expired at ttlMs after the size was counted');
  assert.equal(cache.get('a', 0), undefined, 'an expired entry is dropped');
});

test('the cache is bounded in scopes and terms', () => {
  const cache = new StatsCache({ ttlMs: 1000, minDf: 1 });
  for (let i = 0; i <= StatsCache.MAX_SCOPES; i++) cache.setSize(`s${i}`, 2000, 0);
  assert.equal(cache.get('s0', 0), undefined, 'the oldest scope went first');
  assert.ok(cache.get(`s${StatsCache.MAX_SCOPES}`, 0));
  cache.setSize('t', 2000, 0);
  cache.addFrequencies('t', Array.from({ length: StatsCache.MAX_TERMS + 10 }, (_, i): [string, number] => [`w${i}`, 5]), 0);
  assert.ok(cache.get('t', 0)!.dfs.size <= StatsCache.MAX_TERMS);
});
