/**
 * vectorize hashes features without building their strings (hash.ts featureHashes and
 * gramHashes) and tokenises once per text for derive.ts. These tests pin that fast path to the
 * definition: hash32 over the prefixed feature strings of forEachFeature, summed in visiting
 * order — on random texts mixing ASCII, accents, CJK, emoji, identifiers and lone surrogates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachFeature } from '../../src/vectorize/features.ts';
import { FEATURE_HASHES, featureHashes, gramHashes, hash32, HASH_SEED, SIGN_SEED } from '../../src/vectorize/hash.ts';
import { analyze, lex, vectorize, vectorizeLexed, type SparseVector } from '../../src/vectorize/index.ts';

/** The definition of vectorize, written plainly over feature strings. */
function reference(text: string, dimension = 2 ** 20): SparseVector {
  const buckets = new Map<number, number>();
  forEachFeature(text, (feature, weight) => {
    const bucket = hash32(feature, HASH_SEED) & (dimension - 1);
    const signed = hash32(feature, SIGN_SEED) >>> 31 === 1 ? -weight : weight;
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + signed);
  });
  const kept = [...buckets].filter(([, v]) => Math.abs(v) >= 1e-9);
  const norm = Math.sqrt(kept.reduce((s, [, v]) => s + v * v, 0));
  kept.sort((a, b) => a[0] - b[0]);
  return { indices: Int32Array.from(kept.map(([k]) => k)), values: Float32Array.from(kept.map(([, v]) => v / norm)) };
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'postgres', 'Database', 'migrations', 'running', 'getUserName', 'HTTPServer', 'src/store/db.ts', 'v1.2.3', 'café', 'naïve', 'STRASSE',
  'straße', '数据库', '记忆', 'データベース', '데이터베이스에', '😀', '\u{1F600}x', '\uD800', 'a\uDC00b', 'x\u200Dy', 'ＰｏｓｔｇｒｅＳＱＬ', 'ﬁle', '   ',
  '\n', ',', 'the', 'is', 'quickly', 'memories', 'ab', 'abcdefghijklmnopqrstuvwxyzabcdefghijk', 'Ωμέγα', 'ΟΔΟΣ', 'word_with_under', 'e-mail@host.org',
];

function randomText(next: () => number): string {
  const n = 1 + Math.floor(next() * 40);
  let out = '';
  for (let i = 0; i < n; i++) {
    out += PIECES[Math.floor(next() * PIECES.length)]!;
    if (next() < 0.3) out += String.fromCharCode(0x20 + Math.floor(next() * 0x250));
    out += next() < 0.8 ? ' ' : '';
  }
  return out;
}

test('featureHashes equals hash32 of the prefixed string, for both seeds', () => {
  const next = rng(7);
  for (let i = 0; i < 2000; i++) {
    const s = randomText(next).slice(0, Math.floor(next() * 30));
    for (const [p0, p1] of [[0x77, 0x3a], [0x67, 0x3a]] as const) {
      featureHashes(p0, p1, s);
      const full = String.fromCharCode(p0, p1) + s;
      assert.equal(FEATURE_HASHES[0], hash32(full, HASH_SEED), JSON.stringify(full));
      assert.equal(FEATURE_HASHES[1], hash32(full, SIGN_SEED), JSON.stringify(full));
    }
  }
});

test('gramHashes equals hash32 of "g:" and the unpacked ASCII 3-gram', () => {
  for (const gram of ['^po', 'pos', 'es$', '^a$', 'zzz', '09_']) {
    const packed = (gram.charCodeAt(0) << 14) | (gram.charCodeAt(1) << 7) | gram.charCodeAt(2);
    gramHashes(0x67, 0x3a, packed);
    assert.equal(FEATURE_HASHES[0], hash32('g:' + gram, HASH_SEED));
    assert.equal(FEATURE_HASHES[1], hash32('g:' + gram, SIGN_SEED));
  }
});

test('vectorize is bit-identical to its plain definition on random texts', () => {
  const next = rng(42);
  for (let i = 0; i < 500; i++) {
    const text = randomText(next);
    const fast = vectorize(text);
    const slow = reference(text);
    assert.deepEqual(fast.indices, slow.indices, JSON.stringify(text));
    assert.deepEqual(fast.values, slow.values, JSON.stringify(text));
    assert.deepEqual(vectorizeLexed(lex(text)), fast);
    assert.deepEqual(lex(text).terms, analyze(text).terms);
  }
});

test('a small dimension folds buckets the same way on both paths', () => {
  const next = rng(3);
  for (let i = 0; i < 100; i++) {
    const text = randomText(next);
    assert.deepEqual(vectorize(text, { dimension: 1024 }), reference(text, 1024));
  }
});
