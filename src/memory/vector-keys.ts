/**
 * Which hash buckets select vector candidates (the memories whose similarity to the query is
 * computed besides the lexical candidates).
 *
 * Every bucket of the query would select nearly every memory of a large project: common words
 * and common character 3-grams ("ing", "^co") are in most of them, so the candidates were an
 * arbitrary sample, and fetching a thousand vectors was most of a search's cost. The informative
 * buckets are:
 *   - the word buckets of the query's selective terms (rare enough to select candidates on the
 *     lexical side too): memories that contain them, beyond the lexical candidates;
 *   - every bucket (word and 3-grams) of a query word that no memory in scope contains — most
 *     often a typo: its 3-grams find the memories with the word it was meant to be.
 * 3-grams of known words and buckets of common terms select nothing; they still count in the
 * cosine of every candidate. Used beyond RANKING.smallCorpus memories only: a small corpus is
 * ranked whole (on the LoCoMo recall benchmark, ~600 memories per conversation, 200 candidates
 * from these buckets instead of all lost R@20 0.808 → 0.793, because the session context
 * rewards neighbours only when they are candidates; bench/SCALE-LOG.md).
 */
import { forEachFeature } from '../vectorize/features.ts';
import { normalize } from '../vectorize/normalize.ts';
import { stem } from '../vectorize/stem.ts';
import { tokenize } from '../vectorize/tokenize.ts';
import { featureBucket } from '../vectorize/vector.ts';

/**
 * @param df document frequency in scope of each lexical term of the query (0: unknown)
 * @param selective the terms allowed to select candidates
 */
export function candidateKeys(query: string, df: ReadonlyMap<string, number>, selective: Iterable<string>, dimension: number): Int32Array {
  const keys = new Set<number>();
  for (const term of selective) keys.add(featureBucket(`w:${term}`, dimension));
  for (const word of tokenize(normalize(query)).ngramWords) {
    if ((df.get(stem(word)) ?? 0) > 0) continue;
    forEachFeature(word, (feature) => keys.add(featureBucket(feature, dimension)));
  }
  return Int32Array.from(keys).sort();
}
