import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, packedBytes, type PackedVector } from '../../src/memory/packed-vector.ts';
import { VectorCache, type RankingEntry } from '../../src/memory/vector-cache.ts';
import { vectorize } from '../../src/vectorize/index.ts';

const v = (text: string): RankingEntry => ({
  vector: pack(vectorize(text, { dimension: 1024 })),
  sessionId: 's1',
  createdAt: Date.parse('2025-01-01T00:00:00Z'),
  contentHash: new Uint8Array(32),
});

test('a hit needs the same row version', () => {
  const cache = new VectorCache(1 << 20);
  const a = v('alpha beta');
  cache.set('m1', '100', a);
  assert.equal(cache.get('m1', '100'), a);
  assert.equal(cache.get('m1', '101'), undefined, 'another version of the row');
  assert.equal(cache.get('m2', '100'), undefined);
  const b = v('gamma delta');
  cache.set('m1', '101', b);
  assert.equal(cache.get('m1', '101'), b);
  assert.equal(cache.get('m1', '100'), undefined);
});

test('bounded in bytes; an entry not read since it was added goes before one that was', () => {
  const one = v('one two three four');
  const two = v('five six seven eight');
  const three = v('nine ten eleven twelve');
  const size = (x: typeof one) => packedBytes(x.vector as PackedVector) + x.contentHash.byteLength + 4 + 760;
  const cache = new VectorCache(size(one) + size(two) + size(three));
  cache.set('a', '1', one);
  cache.set('b', '1', two);
  cache.set('c', '1', three);
  assert.ok(cache.get('a', '1'), 'a is now the most recently used');
  cache.set('d', '1', v('five six seven eighty'));
  assert.equal(cache.get('b', '1'), undefined, 'b was the least recently used');
  assert.ok(cache.get('a', '1'));
  assert.ok(cache.get('d', '1'));
  assert.ok(cache.bytes <= cache.maxBytes);
  const tiny = new VectorCache(10);
  tiny.set('x', '1', one);
  assert.equal(tiny.get('x', '1'), undefined, 'an entry larger than the cache is not kept');
  assert.equal(tiny.bytes, 0);
});

test('eviction gives a read entry a second chance, and a cache whose every entry was read still evicts', () => {
  const entries = Array.from({ length: 6 }, (_, i) => v(`entry number ${i} with words`));
  const size = (x: RankingEntry) => packedBytes(x.vector as PackedVector) + x.contentHash.byteLength + 4 + 760;
  const cache = new VectorCache(entries.slice(0, 4).reduce((sum, e) => sum + size(e), 0));
  for (let i = 0; i < 4; i++) cache.set(`k${i}`, '1', entries[i]!);
  for (let i = 0; i < 4; i++) assert.ok(cache.get(`k${i}`, '1'), 'every entry read');
  cache.set('k4', '1', entries[4]!);
  assert.equal(cache.size, 4, 'one entry went although every one had been read');
  assert.ok(cache.bytes <= cache.maxBytes);
  assert.equal(cache.get('k0', '1'), undefined, 'the oldest went, after every mark was cleared');
  // k1–k3 lost their marks in that round; k1 is read again, so k2 goes next.
  assert.ok(cache.get('k1', '1'));
  cache.set('k5', '1', entries[5]!);
  assert.equal(cache.get('k2', '1'), undefined);
  for (const key of ['k1', 'k3', 'k4', 'k5']) assert.ok(cache.get(key, '1'), key);
});
