/**
 * The hash vectorizer: weighted features → one sparse, L2-normalised vector, and the
 * operations on such vectors.
 *
 * Feature hashing ("the hashing trick", Weinberger et al. 2009) maps every feature string to
 * one of `dimension` buckets with a fixed hash, so no vocabulary has to be learnt, stored or
 * shared between processes: the vector of a text depends on the text alone. Two texts are
 * similar exactly when they share features, which is what makes search work.
 *
 * Signed hashing: each feature also gets a sign (+1/−1) from a second, independent hash.
 * When two unrelated features collide in a bucket their contributions then cancel in
 * expectation instead of always adding up, so collisions add noise around zero rather than
 * a positive bias to every dot product (the inner product stays unbiased).
 */
import { countAsciiGrams, countOtherGrams, countTerms, ngramWeight, termWeight } from './features.ts';
import { FEATURE_HASHES, featureHashes, gramHashes, hash32, HASH_SEED } from './hash.ts';
import { lex, type Lexed } from './tokenize.ts';

/** Indices strictly ascending; values L2-normalised (or both empty). */
export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

export interface VectorizerOptions {
  /** Number of hash buckets: a power of two from 2^10 to 2^24. */
  dimension: number;
}

/**
 * 2^20 buckets: a feature of a 250-feature memory shares its bucket with another feature of
 * the same memory with probability 250 / 2^20 ≈ 0.02%. Stored as int32 indices either way.
 */
export const DEFAULT_DIMENSION = 2 ** 20;
export const MIN_DIMENSION = 2 ** 10;
export const MAX_DIMENSION = 2 ** 24;

/** Fills in defaults and validates; throws RangeError on a bad dimension. */
export function resolveOptions(options?: Partial<VectorizerOptions>): VectorizerOptions {
  const dimension = options?.dimension ?? DEFAULT_DIMENSION;
  if (
    typeof dimension !== 'number' ||
    !Number.isInteger(dimension) ||
    dimension < MIN_DIMENSION ||
    dimension > MAX_DIMENSION ||
    (dimension & (dimension - 1)) !== 0
  ) {
    throw new RangeError(
      `vectorizer dimension must be a power of two between 2^10 (${MIN_DIMENSION}) and 2^24 (${MAX_DIMENSION}), got ${String(dimension)}`,
    );
  }
  return { dimension };
}

/** Values whose magnitude is below this are exact cancellations of colliding features. */
const ZERO = 1e-9;

/** The bucket a feature string (see features.ts) falls into; `dimension` is a power of two. */
export function featureBucket(feature: string, dimension: number): number {
  return hash32(feature, HASH_SEED) & (dimension - 1);
}

/**
 * The hashed feature vector of a text: for each distinct feature, bucket = hash32(feature,
 * HASH_SEED) mod dimension and sign = top bit of hash32(feature, SIGN_SEED); colliding
 * contributions are summed, exact cancellations dropped, and the result L2-normalised.
 * Text with no features (empty, punctuation, emoji) gives the empty vector.
 */
export function vectorize(text: string, options?: Partial<VectorizerOptions>): SparseVector {
  return vectorizeLexed(lex(text), options);
}

const W = 0x77; // 'w'
const G = 0x67; // 'g'
const COLON = 0x3a;

/**
 * `vectorize` of text already through `lex`, so a caller that also needs the terms (derive.ts:
 * lexemes) tokenises once. Features are visited in forEachFeature's order (the order of the
 * float sums in colliding buckets is part of the output), hashed by featureHashes/gramHashes:
 * the same values as hash32 over the prefixed strings, without building them.
 */
export function vectorizeLexed(lexed: Lexed, options?: Partial<VectorizerOptions>): SparseVector {
  const { dimension } = resolveOptions(options);
  const mask = dimension - 1;
  // The same counts as countFeatures, in the same order; ASCII n-grams without a Map.
  const terms = countTerms(lexed.terms);
  const otherGrams = countOtherGrams(lexed.ngramWords);
  const asciiGrams = countAsciiGrams(lexed.ngramWords);
  const table = BucketTable.forFeatures(terms.size + asciiGrams.size + otherGrams.size);
  for (const [term, tf] of terms) {
    featureHashes(W, COLON, term);
    table.add(FEATURE_HASHES[0]! & mask, FEATURE_HASHES[1]! >>> 31 === 1 ? -termWeight(tf) : termWeight(tf));
  }
  for (let i = 0; i < asciiGrams.size; i++) {
    const packed = asciiGrams.grams[i]!;
    const tf = asciiGrams.counts[i]!;
    gramHashes(G, COLON, packed);
    table.add(FEATURE_HASHES[0]! & mask, FEATURE_HASHES[1]! >>> 31 === 1 ? -ngramWeight(tf) : ngramWeight(tf));
  }
  for (const [gram, tf] of otherGrams) {
    featureHashes(G, COLON, gram);
    table.add(FEATURE_HASHES[0]! & mask, FEATURE_HASHES[1]! >>> 31 === 1 ? -ngramWeight(tf) : ngramWeight(tf));
  }

  // Buckets in first-use order: the sum of squares runs in the same order as it always has.
  const indices = new Int32Array(table.size);
  let count = 0;
  let sumSquares = 0;
  for (let i = 0; i < table.size; i++) {
    const value = table.valueAt(i);
    if (Math.abs(value) < ZERO) continue;
    indices[count++] = table.bucketAt(i);
    sumSquares += value * value;
  }
  const sorted = indices.subarray(0, count).sort();
  const norm = Math.sqrt(sumSquares);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = table.get(sorted[i]!) / norm;
  return { indices: sorted.slice(), values };
}

/**
 * Bucket → summed value, in first-use order: what a Map<number, number> gave, as an
 * open-addressing table over typed arrays (a Map's per-entry cost was most of vectorize's own
 * time). One table per call, sized to at most half full.
 */
class BucketTable {
  readonly slots: Int32Array; // position in `buckets` + 1, or 0 when empty
  readonly buckets: Int32Array;
  readonly values: Float64Array;
  readonly mask: number;
  size = 0;

  static forFeatures(features: number): BucketTable {
    let capacity = 16;
    while (capacity < 2 * features) capacity *= 2;
    return new BucketTable(capacity, Math.max(features, 1));
  }

  constructor(capacity: number, entries: number) {
    this.slots = new Int32Array(capacity);
    this.buckets = new Int32Array(entries);
    this.values = new Float64Array(entries);
    this.mask = capacity - 1;
  }

  #find(bucket: number): number {
    // Buckets are hash bits already: their low bits spread well. Linear probing.
    let slot = bucket & this.mask;
    for (;;) {
      const at = this.slots[slot]!;
      if (at === 0 || this.buckets[at - 1] === bucket) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  add(bucket: number, signed: number): void {
    const slot = this.#find(bucket);
    const at = this.slots[slot]!;
    if (at === 0) {
      this.buckets[this.size] = bucket;
      this.values[this.size] = 0 + signed;
      this.slots[slot] = ++this.size;
    } else {
      this.values[at - 1] = this.values[at - 1]! + signed;
    }
  }

  get(bucket: number): number {
    const at = this.slots[this.#find(bucket)]!;
    return at === 0 ? 0 : this.values[at - 1]!;
  }

  bucketAt(i: number): number {
    return this.buckets[i]!;
  }

  valueAt(i: number): number {
    return this.values[i]!;
  }
}

/**
 * Dot product of two sparse vectors by a merge walk over their ascending indices; for the
 * normalised vectors of `vectorize` this is the cosine similarity. An empty vector has
 * cosine 0 with everything. The sum runs in double precision and is clamped to [-1, 1]
 * against float32 rounding.
 */
export function cosine(a: SparseVector, b: SparseVector): number {
  return sparseDot(a, b) ?? 0;
}

/**
 * `cosine`, but undefined when the vectors share no index (ranking tells "no common bucket"
 * apart from a zero sum). NaN, only possible with hand-made vectors, gives 0.
 */
export function sparseDot(a: SparseVector, b: SparseVector): number | undefined {
  const ai = a.indices;
  const bi = b.indices;
  const av = a.values;
  const bv = b.values;
  let i = 0;
  let j = 0;
  let dot = 0;
  let shared = false;
  while (i < ai.length && j < bi.length) {
    const x = ai[i]!;
    const y = bi[j]!;
    if (x === y) {
      dot += av[i++]! * bv[j++]!;
      shared = true;
    } else if (x < y) i++;
    else j++;
  }
  if (!shared) return undefined;
  if (Number.isNaN(dot)) return 0; // never propagate NaN
  return dot > 1 ? 1 : dot < -1 ? -1 : dot;
}

/**
 * The vector's bucket indices, for a Postgres GIN index on int4[]: a candidate shares at
 * least one bucket with the query. A copy, so callers cannot alter the vector.
 */
export function featureKeys(v: SparseVector): Int32Array {
  return v.indices.slice();
}
