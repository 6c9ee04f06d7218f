/**
 * The one hash function of the vectorizer: MurmurHash3, x86 32-bit variant (Austin Appleby,
 * public domain), computed over the UTF-8 bytes of a string.
 *
 * Why this hash: feature hashing only works if the same feature lands in the same bucket in
 * every process, on every machine, forever — vectors are stored in Postgres and compared
 * with vectors computed years later. A language's built-in string hash is often salted per
 * process, which turns a "hash vectorizer" into a random projection per run (the failure of
 * the original product: similar texts got unrelated vectors), so we use a fixed, published
 * algorithm with fixed seeds instead. MurmurHash3_x86_32 is small, fast, well mixed, and has
 * published test vectors that the tests check.
 *
 * Strings are hashed as UTF-8 without materialising the bytes. A lone surrogate (which has no
 * UTF-8 form) hashes as U+FFFD, exactly as `TextEncoder` would encode it.
 */

/** Seed of the bucket hash. Part of the vectorizer version string ("s0x5a6e"). */
export const HASH_SEED = 0x5a6e;

/**
 * Seed of the sign hash: a second, independent hash of the same feature string, so a
 * feature's sign is uncorrelated with its bucket. Part of the algorithm tag ("hv1").
 */
export const SIGN_SEED = 0x9e3779b9;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * MurmurHash3_x86_32 of the UTF-8 encoding of `s`, as an unsigned 32-bit integer.
 * `seed` defaults to 0, the convention of the published test vectors; the vectorizer always
 * passes its own seeds (HASH_SEED, SIGN_SEED).
 */
export function hash32(s: string, seed = 0): number {
  let h = seed >>> 0;
  let block = 0; // bytes of the current 4-byte block, little-endian
  let filled = 0; // how many bytes `block` holds
  let length = 0; // total UTF-8 bytes
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd; // a lone surrogate has no UTF-8 form
      }
    }
    const bytes = utf8Packed(cp);
    const count = utf8Length(cp);
    for (let j = 0; j < count; j++) {
      block |= ((bytes >>> (8 * j)) & 0xff) << (8 * filled);
      if (++filled === 4) {
        h = mixH(h, mixK(block));
        block = 0;
        filled = 0;
      }
    }
    length += count;
  }
  if (filled > 0) h ^= mixK(block);
  return finish(h, length);
}

/** UTF-8 length of a code point (surrogates are resolved or replaced by U+FFFD before). */
function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** The code point's UTF-8 bytes, packed little-endian into one integer. */
function utf8Packed(cp: number): number {
  if (cp < 0x80) return cp;
  if (cp < 0x800) return (0xc0 | (cp >> 6)) | ((0x80 | (cp & 0x3f)) << 8);
  if (cp < 0x10000) return (0xe0 | (cp >> 12)) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
  return (0xf0 | (cp >> 18)) | ((0x80 | ((cp >> 12) & 0x3f)) << 8) | ((0x80 | ((cp >> 6) & 0x3f)) << 16) | ((0x80 | (cp & 0x3f)) << 24);
}

/**
 * Both hashes of a feature in one pass, without building its string: MurmurHash3_x86_32 of
 * the UTF-8 bytes of `prefix + s`, where `prefix` is two ASCII characters given as codes
 * ("w:", "g:"), with seeds HASH_SEED and SIGN_SEED. Results land in FEATURE_HASHES[0] (bucket
 * hash) and FEATURE_HASHES[1] (sign hash), as unsigned 32-bit values. The block mixing
 * depends only on the bytes, so it is computed once for both seeds. Equal to
 * hash32(String.fromCharCode(p0, p1) + s, seed) for each seed (unit-tested against it).
 */
export const FEATURE_HASHES = new Uint32Array(2);

function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

export function featureHashes(p0: number, p1: number, s: string): void {
  let h1 = HASH_SEED | 0;
  let h2 = SIGN_SEED | 0;
  // The prefix fills the low two bytes of the first block.
  let block = p0 | (p1 << 8);
  let filled = 2;
  let length = 2;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let cp = s.charCodeAt(i);
    if (cp < 0x80) {
      // ASCII fast path: one byte.
      block |= cp << (8 * filled);
      length++;
      if (++filled === 4) {
        const k = mixK(block);
        h1 = mixH(h1, k);
        h2 = mixH(h2, k);
        block = 0;
        filled = 0;
      }
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    const bytes = utf8Packed(cp);
    const count = utf8Length(cp);
    for (let j = 0; j < count; j++) {
      block |= ((bytes >>> (8 * j)) & 0xff) << (8 * filled);
      if (++filled === 4) {
        const k = mixK(block);
        h1 = mixH(h1, k);
        h2 = mixH(h2, k);
        block = 0;
        filled = 0;
      }
    }
    length += count;
  }
  if (filled > 0) {
    const k = mixK(block);
    h1 ^= k;
    h2 ^= k;
  }
  FEATURE_HASHES[0] = finish(h1, length);
  FEATURE_HASHES[1] = finish(h2, length);
}

/**
 * featureHashes for an ASCII 3-gram packed as (a << 14) | (b << 7) | c (features.ts): the five
 * bytes p0 p1 a b c are one full block and a one-byte tail.
 */
export function gramHashes(p0: number, p1: number, packed: number): void {
  const k = mixK(p0 | (p1 << 8) | ((packed >> 14) << 16) | (((packed >> 7) & 0x7f) << 24));
  const tail = mixK(packed & 0x7f);
  FEATURE_HASHES[0] = finish(mixH(HASH_SEED | 0, k) ^ tail, 5);
  FEATURE_HASHES[1] = finish(mixH(SIGN_SEED | 0, k) ^ tail, 5);
}
