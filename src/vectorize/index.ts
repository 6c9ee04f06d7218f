/**
 * Sage's vectorizer: pure functions from text to lexical terms and hashed sparse vectors.
 * No model, no I/O, no state: the same text gives the same output in every process.
 *
 *   normalize.ts  NFKC, cleaning, case folding
 *   tokenize.ts   terms: words, identifier pieces and wholes, CJK unigrams + bigrams
 *   stopwords.ts, stem.ts   English stopwords and a conservative stemmer
 *   features.ts   weighted features: terms + character 3-grams
 *   hash.ts       MurmurHash3_x86_32 over UTF-8
 *   vector.ts     signed feature hashing, cosine, feature keys
 *   codec.ts      binary encoding
 *   version.ts    the version string stored beside vectors
 */
import { lex } from './tokenize.ts';

export interface Analysis {
  /** Lexical terms in text order, duplicates kept (term frequency matters to ranking). */
  terms: string[];
}

/** Normalisation and tokenisation into the lexical terms used for full-text search. */
export function analyze(text: string): Analysis {
  return { terms: lex(text).terms };
}

export { hash32 } from './hash.ts';
export { lex, type Lexed } from './tokenize.ts';
export { vectorize, vectorizeLexed, cosine, featureKeys, DEFAULT_DIMENSION, MIN_DIMENSION, MAX_DIMENSION } from './vector.ts';
export type { SparseVector, VectorizerOptions } from './vector.ts';
export { encodeVector, decodeVector } from './codec.ts';
export { vectorizerVersion } from './version.ts';
