import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash32 } from '../../src/vectorize/index.ts';
import { HASH_SEED, SIGN_SEED } from '../../src/vectorize/hash.ts';

/** Published MurmurHash3_x86_32 test vectors (SMHasher / widely reproduced reference list). */
const VECTORS: ReadonlyArray<[string, number, number]> = [
  ['', 0, 0],
  ['', 1, 0x514e28b7],
  ['', 0xffffffff, 0x81f16f39],
  ['\0\0\0\0', 0, 0x2362f9de],
  ['test', 0, 0xba6bd213],
  ['abc', 0, 0xb3dd93fa],
  ['Hello, world!', 0, 0xc0363e43],
  ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['ab', 0x9747b28c, 0x74875592],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['abcd', 0x9747b28c, 0xf0478627],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['ππππππππ', 0x9747b28c, 0xd58063c1], // UTF-8: two bytes per character
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
];

test('hash32 matches the published MurmurHash3_x86_32 test vectors', () => {
  for (const [input, seed, expected] of VECTORS) {
    assert.equal(hash32(input, seed), expected, `murmur3_32(${JSON.stringify(input)}, 0x${seed.toString(16)})`);
  }
});

test('hash32 defaults to seed 0 and returns an unsigned 32-bit integer', () => {
  assert.equal(hash32('test'), 0xba6bd213);
  for (const s of ['', 'x', 'getUserName', '数据库', '🎉']) {
    const h = hash32(s, HASH_SEED);
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `${s}: ${h}`);
  }
});

/** Straightforward MurmurHash3_x86_32 over a byte array: the reference for the UTF-8 path. */
function murmurBytes(bytes: Uint8Array, seed: number): number {
  let h = seed >>> 0;
  const blocks = bytes.length >>> 2;
  const mix = (k: number): number => {
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, 0x1b873593);
  };
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    h ^= mix(bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | bytes[tail + i]!;
    h ^= mix(k);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

test('hash32 hashes the UTF-8 bytes of 1-, 2-, 3- and 4-byte characters and lone surrogates', () => {
  const encoder = new TextEncoder(); // encodes lone surrogates as U+FFFD, as hash32 does
  const alphabet = ['a', 'Z', '0', ' ', 'é', 'π', 'ж', '数', 'ー', '한', '€', '😀', '𠀀', '\ud800', '\udc00', '\u0000'];
  let state = 0x2545f491;
  const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let n = 0; n < 500; n++) {
    let s = '';
    const length = next() % 24;
    for (let i = 0; i < length; i++) s += alphabet[next() % alphabet.length];
    for (const seed of [0, HASH_SEED, SIGN_SEED]) {
      assert.equal(hash32(s, seed), murmurBytes(encoder.encode(s), seed), JSON.stringify(s));
    }
  }
});

test('the reference byte implementation itself reproduces the published vectors', () => {
  const encoder = new TextEncoder();
  for (const [input, seed, expected] of VECTORS) assert.equal(murmurBytes(encoder.encode(input), seed), expected);
});
