/**
 * Features: text → weighted feature strings, the input of feature hashing.
 *
 * Two kinds, each with its own namespace prefix so that a word and an n-gram can never be the
 * same string (and so never the same hash) by construction:
 *   "w:" + term   every lexical term of `tokenize` (words, stems, identifier wholes, CJK
 *                 unigrams and bigrams), weight TERM_WEIGHT. These carry the meaning.
 *   "g:" + gram   character 3-grams of each non-CJK word of 4..32 letters, taken before
 *                 stemming, with boundary markers: "postgres" → ^po pos ost stg tgr gre res
 *                 es$. A one-letter typo leaves most of a word's 3-grams intact ("postgrse"
 *                 shares 5 of 8), so a misspelled query still lands near the right memories.
 *                 Weight NGRAM_WEIGHT: low enough that shared suffixes (-ing, -ion) between
 *                 unrelated words stay small next to a shared word.
 * Term frequency is sublinear, weight × (1 + ln tf): a word said five times counts more than
 * once, but not five times more, so one repeated word cannot dominate a memory.
 */
import { lex, type Lexed } from './tokenize.ts';

export const TERM_WEIGHT = 1;
/**
 * Tuned so that a one-typo query ("postgrse") keeps cosine ≥ 0.3 with a short text containing
 * the right word ("postgres"), while texts sharing no word stay near 0. Checked on retrieval
 * too: on the LoCoMo dev split, ranking by this vector alone, recall@5 is 0.439 without
 * n-grams, 0.461 at 0.25, 0.462 at 0.35 and 0.454 at 0.5.
 */
export const NGRAM_WEIGHT = 0.35;
/** Character n-gram length. The ASCII path below packs exactly three 7-bit characters. */
const NGRAM_SIZE = 3;

/** Packs three ASCII characters of an n-gram into one integer (7 bits each). */
export function packGram(a: number, b: number, c: number): number {
  return (a << 14) | (b << 7) | c;
}

const CARET = 0x5e; // '^', start-of-word marker
const DOLLAR = 0x24; // '$', end-of-word marker

function isAscii(word: string): boolean {
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) > 0x7f) return false;
  return true;
}

function count<K>(counts: Map<K, number>, key: K): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Distinct features of a text with their term frequencies, before weighting. */
export interface FeatureCounts {
  /** Lexical terms (prefix "w:"), in first-occurrence order. */
  terms: Map<string, number>;
  /** ASCII 3-grams packed by `packGram` (prefix "g:"), in first-occurrence order. */
  asciiGrams: Map<number, number>;
  /** Other 3-grams as strings of code points (prefix "g:"), in first-occurrence order. */
  otherGrams: Map<string, number>;
}

/**
 * Distinct ASCII 3-grams (packed by `packGram`) with their counts, in first-occurrence order,
 * counted in an open-addressing table over typed arrays: a Map's two lookups per occurrence
 * were most of counting's cost. The table is reused from call to call (the vectorizer is
 * synchronous), so `grams` and `counts` are valid until the next call only.
 */
export interface GramCounts {
  grams: Int32Array;
  counts: Int32Array;
  size: number;
}

let gramSlots = new Int32Array(1024); // position in gramOrder + 1, or 0 when empty
let gramShift = 22; // 32 − log2(gramSlots.length)
let gramOrder = new Int32Array(512);
let gramCounts = new Int32Array(512);
let gramSlotOf = new Int32Array(512);
const GRAMS: GramCounts = { grams: gramOrder, counts: gramCounts, size: 0 };

function gramSlot(packed: number): number {
  const mask = gramSlots.length - 1;
  let slot = Math.imul(packed, 0x9e3779b1) >>> gramShift;
  for (;;) {
    const at = gramSlots[slot]!;
    if (at === 0 || gramOrder[at - 1] === packed) return slot;
    slot = (slot + 1) & mask;
  }
}

/** Doubles the table (and the entry arrays) and re-inserts the entries counted so far. */
function growGrams(size: number): void {
  gramSlots = new Int32Array(gramSlots.length * 2);
  gramShift--;
  const order = new Int32Array(gramOrder.length * 2);
  const counts = new Int32Array(gramCounts.length * 2);
  order.set(gramOrder.subarray(0, size));
  counts.set(gramCounts.subarray(0, size));
  gramOrder = order;
  gramCounts = counts;
  gramSlotOf = new Int32Array(order.length);
  for (let i = 0; i < size; i++) {
    const slot = gramSlot(gramOrder[i]!);
    gramSlots[slot] = i + 1;
    gramSlotOf[i] = slot;
  }
}

function countGram(packed: number, size: number): number {
  const slot = gramSlot(packed);
  const at = gramSlots[slot]!;
  if (at !== 0) {
    gramCounts[at - 1]!++;
    return size;
  }
  gramOrder[size] = packed;
  gramCounts[size] = 1;
  gramSlotOf[size] = slot;
  gramSlots[slot] = size + 1;
  if (2 * (size + 1) >= gramOrder.length) growGrams(size + 1);
  return size + 1;
}

/** The ASCII 3-grams of the n-gram words that are ASCII (the others are counted by countFeatures). */
export function countAsciiGrams(ngramWords: readonly string[]): GramCounts {
  // Empty the slots the previous call used.
  for (let i = 0; i < GRAMS.size; i++) gramSlots[gramSlotOf[i]!] = 0;
  let size = 0;
  for (const word of ngramWords) {
    if (!isAscii(word)) continue;
    let a = CARET;
    let b = word.charCodeAt(0);
    for (let i = 1; i <= word.length; i++) {
      const c = i < word.length ? word.charCodeAt(i) : DOLLAR;
      size = countGram(packGram(a, b, c), size);
      a = b;
      b = c;
    }
  }
  GRAMS.grams = gramOrder;
  GRAMS.counts = gramCounts;
  GRAMS.size = size;
  return GRAMS;
}

/** Counts the terms (prefix "w:"), in first-occurrence order. */
export function countTerms(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) count(counts, term);
  return counts;
}

/** Counts the 3-grams of non-ASCII n-gram words as strings of code points (prefix "g:"), in first-occurrence order. */
export function countOtherGrams(ngramWords: readonly string[]): Map<string, number> {
  const otherGrams = new Map<string, number>();
  for (const word of ngramWords) {
    if (isAscii(word)) continue;
    const chars = Array.from('^' + word + '$');
    for (let i = 0; i + NGRAM_SIZE <= chars.length; i++) count(otherGrams, chars[i]! + chars[i + 1]! + chars[i + 2]!);
  }
  return otherGrams;
}

/**
 * Counts the features of tokenised text. Counting happens on bare terms and packed n-grams;
 * prefixed strings are built (or hashed) once per distinct feature only, which keeps
 * megabyte inputs fast.
 */
export function countFeatures(lexed: Lexed): FeatureCounts {
  const grams = countAsciiGrams(lexed.ngramWords);
  const asciiGrams = new Map<number, number>();
  for (let i = 0; i < grams.size; i++) asciiGrams.set(grams.grams[i]!, grams.counts[i]!);
  return { terms: countTerms(lexed.terms), asciiGrams, otherGrams: countOtherGrams(lexed.ngramWords) };
}

/** Sublinear term frequency: a feature said five times counts more than once, not five times more. */
export function termWeight(tf: number): number {
  return TERM_WEIGHT * (1 + Math.log(tf));
}

export function ngramWeight(tf: number): number {
  return NGRAM_WEIGHT * (1 + Math.log(tf));
}

/** Unpacks a `packGram` integer into its three characters. */
export function unpackGram(packed: number): string {
  return String.fromCharCode(packed >> 14, (packed >> 7) & 0x7f, packed & 0x7f);
}

/**
 * Calls `visit` once per distinct feature of the text (normalisation included) with its
 * prefixed feature string and weight, in a deterministic order: terms, ASCII n-grams, other
 * n-grams, each in first-occurrence order. `vectorize` visits the same features in the same
 * order through their hashes (vector.ts), without building these strings.
 */
export function forEachFeature(text: string, visit: (feature: string, weight: number) => void): void {
  const { terms, asciiGrams, otherGrams } = countFeatures(lex(text));
  for (const [term, tf] of terms) visit('w:' + term, termWeight(tf));
  for (const [packed, tf] of asciiGrams) visit('g:' + unpackGram(packed), ngramWeight(tf));
  for (const [gram, tf] of otherGrams) visit('g:' + gram, ngramWeight(tf));
}

/** Feature string → weight; the same features as `forEachFeature`, for inspection and tests. */
export function features(text: string): Map<string, number> {
  const out = new Map<string, number>();
  forEachFeature(text, (feature, weight) => out.set(feature, weight));
  return out;
}
