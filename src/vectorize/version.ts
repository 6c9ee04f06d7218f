/**
 * The vectorizer version: a string stored beside every vector, so that vectors made by
 * different algorithms are never compared and `reindex` knows what to recompute.
 *
 *   hv1-murmur3_32-s0x5a6e-d1048576
 *   │   │          │      └ dimension (bucket count)
 *   │   │          └ bucket-hash seed
 *   │   └ hash function
 *   └ algorithm tag
 *
 * Bump rule: the tag (hv1 → hv2 ...) MUST change with any change that can alter the output
 * of `vectorize` or `analyze` for some input: normalisation, tokenisation and identifier
 * rules, CJK handling, stopwords, stemmer, term-length limits, n-gram size/limits, feature
 * prefixes, weights, tf formula, sign seed, zero threshold, or `encodeVector`'s encoding. Hash,
 * seed and dimension are spelt out separately because they are parameters. How Sage stores a
 * vector is not part of it: the stored layout is told by its first word and both layouts are
 * read (src/memory/packed-vector.ts).
 *
 * One caveat the string cannot capture: normalisation and character classes come from the
 * Unicode tables of the running Node. A Node upgrade changes output only for characters
 * newly assigned by Unicode, which is rare enough not to force a reindex.
 */
import { HASH_SEED } from './hash.ts';
import { resolveOptions, type VectorizerOptions } from './vector.ts';

export const ALGORITHM_TAG = 'hv1';
export const HASH_NAME = 'murmur3_32';

export function vectorizerVersion(options?: Partial<VectorizerOptions>): string {
  const { dimension } = resolveOptions(options);
  return `${ALGORITHM_TAG}-${HASH_NAME}-s0x${HASH_SEED.toString(16)}-d${dimension}`;
}
