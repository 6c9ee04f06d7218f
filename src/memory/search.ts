/**
 * Hybrid retrieval: full-text search over Sage's own lexemes and hash-vector similarity,
 * fused by score, then two kinds of context: what else matched in the same stretch of the
 * same session, and dates the query names. Every step works on the capped candidate sets
 * only, so the cost of a search does not grow with the corpus beyond them.
 *
 *   lexical  Σ over query terms of IDF × ts_rank (label weights: the assistant's side and
 *            tags count 1, the user's side 0.7). IDF is counted with a cap, so a common term
 *            costs no more than a rare one — ts_rank alone has no IDF, and without it "the"
 *            and "pgbouncer" would count the same.
 *   vector   cosine of hash vectors (terms + character 3-grams: typos, partial identifiers).
 *   fusion   each signal divided by its best value among the candidates, then
 *            lexical + 0.3 × vector. Score fusion, not rank fusion: the vector side is the
 *            weaker one, and reciprocal rank fusion gave it as much say as the lexical side
 *            (measured: R@5 0.559 with RRF against 0.618 with this; README, "How retrieval works").
 *   context  + 0.5 × the mean of the best three fused scores of other candidates from the same
 *            session within an hour of the memory: an answer often sits next to the turn that
 *            matched the question's words, and a session that talks about the topic makes its
 *            other turns likelier to be relevant.
 *   dates    + 1 × how well created_at fits a date the query names ("on 13 October 2023",
 *            "in July", "yesterday"), with a week of slack either side.
 *   recency  a tie-breaker worth at most 0.0016, by age rank among the candidates.
 */
import { analyze, vectorize, type SparseVector } from '../vectorize/index.ts';
import type { Client } from '../store/db.ts';
import type { MemoryFilter } from '../store/filters.ts';
import { quoteLexeme, anyOfQuery, allOfQuery } from '../store/lexemes.ts';
import { candidateEntries, candidateSets, corpusStats, termFrequencies, type CandidateRef } from '../store/ranking.ts';
import { corpusFilter } from '../store/filters.ts';
import { dateFit, dateRanges } from './dates.ts';
import type { Why } from './model.ts';
import { dot, toSparse } from './packed-vector.ts';
import { loadEntries, type RankingEntry, type VectorCache } from './vector-cache.ts';
import { candidateKeys } from './vector-keys.ts';
import { StatsCache } from './stats-cache.ts';

export const STRATEGIES = ['hybrid', 'lexical', 'vector', 'recent'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Tuning. Measured with `npm run bench:recall`; see the README's retrieval table. */
export const RANKING = {
  lexicalWeight: 1,
  vectorWeight: 0.3,
  /** Recency adds recencyWeight / (rrfK + age rank): enough to order ties, never more. */
  recencyWeight: 0.1,
  rrfK: 60,
  /** Share of the session-neighbourhood score added to a memory's own. */
  contextWeight: 0.5,
  /** How many of the neighbours' best scores are averaged (missing ones count 0). */
  contextTop: 3,
  /** Memories of one session this close in time are neighbours. */
  contextWindowMs: 60 * 60 * 1000,
  /** Added at a perfect fit of created_at to a date named in the query. */
  dateWeight: 1,
  /** The date fit falls from 1 to 0 over this many days outside the named range. */
  dateSlackDays: 7,
  lexicalCandidates: 200,
  /**
   * Vector candidates beyond the lexical ones. In a corpus of at most `smallCorpus` memories,
   * every memory sharing any bucket with the query (so, nearly all of them: similarity ranks the
   * whole corpus, as the session context needs); in a larger one, at most `vectorCandidates`
   * selected by informative buckets only (vector-keys.ts), so the cost stays bounded.
   */
  smallCorpus: 1_000,
  vectorCandidates: 200,
  /**
   * Document frequencies are counted up to this many memories; a term found this often is
   * common. Bounds the count's cost (one heap visit per memory counted); above it, IDF
   * saturates at ln(1 + n / dfCap). README, "Scale".
   */
  dfCap: 1_000,
  /** The corpus size is counted up to this many memories (an index-only scan of this length). */
  corpusCap: 50_000,
  /**
   * A large corpus's size and its common terms' frequencies (at least statsMinDf) are kept this
   * long between searches (stats-cache.ts: the trade-off).
   */
  statsTtlMs: 30_000,
  statsMinDf: 100,
  /** Terms in more than this share of the corpus are scored but do not select candidates. */
  commonTermShare: 0.25,
  /** Lexical and bucket candidates each, for a quick ranking (RankOptions.quick). */
  quickCandidates: 100,
  /**
   * dfCap for a quick ranking: a cold backend's term counts are most of its statistics query
   * (25 of ~30 ms for three terms at 3,000 memories, two of them common). LoCoMo dev, quick
   * ranking: dfCap 1,000 R@5 0.6542, R@10 0.7322; 100 R@5 0.6624, R@10 0.7321; 300 R@5 0.6519.
   */
  quickDfCap: 100,
  /**
   * Selecting terms are the rarest whose document frequencies add up to at most this. Each
   * match costs PostgreSQL a detoast of its lexemes and a ts_rank per term (~15 µs), and the
   * candidates are the best 200 of them anyway. Measured (bench:scale known answers, 300
   * queries): 1,000 → 500 kept every flavour at 10k and at 100k (identifier 0.634 → 0.659,
   * the rest equal) and LoCoMo dev unchanged, for PostgreSQL CPU per search at 100k 22.5 → 17.2
   * ms; 300 lost Chinese queries at 100k (0.824 → 0.811).
   */
  lexicalBudget: 500,
  /** At most this many lexical matches are scored (a safety bound: the budget keeps it lower). */
  lexicalScan: 2_000,
  /** ts_rank label weights {D, C, B, A}: content and tags are A, the user's side of a turn B. */
  labelWeights: [0.1, 0.2, 0.7, 1.0],
  /** ts_rank normalisation flags: 1 divides by 1 + log(document length). */
  rankNormalization: 1,
} as const;

/** How a ranking may trade candidates for speed. */
export interface RankOptions {
  /**
   * For a one-shot process, whose caches are empty and die with it (the `sage hook prompt`
   * command): a small corpus is not ranked whole but as a large one is — at most
   * `quickCandidates` lexical and as many bucket candidates, their vectors fetched with them and
   * not cached — and no statistics are kept. Ranking a project of 1,000 memories whole on an
   * empty cache fetches, decodes and packs all 1,000 vectors, most of a cold search's time; this
   * fetches at most 2 × quickCandidates. The trade-off is recall: the session context rewards
   * neighbours only when they are candidates (vector-keys.ts: on LoCoMo, 200 bucket candidates
   * instead of all lost R@20 0.808 → 0.793), acceptable for a context block of the few best.
   */
  quick?: boolean | undefined;
}

export interface Ranked {
  id: string;
  score: number;
  why: Why;
  vector: SparseVector;
  contentHash: Uint8Array;
  createdAt: Date;
}

interface TermStats {
  /** Memories in the ranking corpus, counted up to corpusCap. */
  n: number;
  /** Known terms (found in scope) as single-term tsqueries, and their weights. */
  termQueries: string[];
  weights: number[];
  /** Document frequency in scope of every distinct query term (0: unknown). */
  df: Map<string, number>;
  /** The terms that select lexical and vector candidates. */
  selective: string[];
  /** The lexical candidate tsquery, or undefined when no term is known. */
  candidateQuery: string | undefined;
  /** Every memory of the filter, when the corpus is small enough to be ranked whole and that was asked for. */
  whole: CandidateRef[] | undefined;
}

/**
 * Kept statistics per service: keyed by its vector cache, the one ranking state a service
 * passes in (so two services — two databases — never share statistics).
 */
const statsCaches = new WeakMap<VectorCache, StatsCache>();

function statsCacheOf(vectors: VectorCache | undefined): StatsCache | undefined {
  if (!vectors) return undefined;
  let cache = statsCaches.get(vectors);
  if (!cache) statsCaches.set(vectors, (cache = new StatsCache({ ttlMs: RANKING.statsTtlMs, minDf: RANKING.statsMinDf })));
  return cache;
}

/** Corpus size and document frequencies: kept ones for a large corpus (stats-cache.ts), the rest counted. */
async function counts(
  client: Client,
  filter: MemoryFilter,
  unique: readonly string[],
  termQueries: readonly string[],
  wantWhole: boolean,
  cache: StatsCache | undefined,
  dfCap: number,
): Promise<{ n: number; dfs: number[]; whole: CandidateRef[] | undefined }> {
  const corpus = corpusFilter(filter);
  const scope = JSON.stringify([corpus.tenant, corpus.projects ?? null]);
  const kept = cache?.get(scope);
  if (kept) {
    const missing = unique.flatMap((term, i) => (kept.dfs.has(term) ? [] : [i]));
    const counted = await termFrequencies(client, filter, missing.map((i) => termQueries[i]!), dfCap);
    const fresh = new Map(missing.map((i, k) => [unique[i]!, counted[k]!]));
    cache!.addFrequencies(scope, fresh);
    return { n: kept.n, dfs: unique.map((term) => kept.dfs.get(term) ?? fresh.get(term)!), whole: undefined };
  }
  const stats = await corpusStats(client, filter, termQueries, RANKING.corpusCap, dfCap, wantWhole ? RANKING.smallCorpus : undefined);
  if (cache && stats.n > RANKING.smallCorpus) {
    cache.setSize(scope, stats.n);
    cache.addFrequencies(scope, unique.map((term, i) => [term, stats.dfs[i]!]));
  }
  return stats;
}

async function termStats(client: Client, filter: MemoryFilter, terms: readonly string[], wantWhole: boolean, cache: StatsCache | undefined, dfCap: number): Promise<TermStats> {
  const tf = new Map<string, number>();
  for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
  const unique = [...tf.keys()];
  const termQueries = unique.map(quoteLexeme);
  const { n, dfs, whole } = await counts(client, filter, unique, termQueries, wantWhole, cache, dfCap);
  const out: TermStats = { n, termQueries: [], weights: [], df: new Map(), selective: [], candidateQuery: undefined, whole };
  const known: { term: string; df: number }[] = [];
  unique.forEach((term, i) => {
    const df = dfs[i] ?? 0;
    out.df.set(term, df);
    if (df === 0) return; // unknown here (often a typo): the vector side's n-grams handle it
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    out.termQueries.push(termQueries[i]!);
    out.weights.push(idf * (1 + Math.log(tf.get(term)!)));
    known.push({ term, df });
  });
  // Selecting terms: the rarest non-common ones while their frequencies fit the budget, so the
  // lexical query scores a bounded number of matches however large the corpus. When every term
  // is common: all of them or-ed if that fits the budget (small corpora), else and-ed (the
  // memories with every term; GIN intersects the posting lists in the index).
  const rare = known.filter((k) => k.df < dfCap && k.df <= n * RANKING.commonTermShare).sort((a, b) => a.df - b.df);
  let spent = 0;
  for (const k of rare) {
    if (out.selective.length > 0 && spent + k.df > RANKING.lexicalBudget) break;
    out.selective.push(k.term);
    spent += k.df;
  }
  if (out.selective.length > 0) out.candidateQuery = anyOfQuery(out.selective);
  else if (known.reduce((sum, k) => sum + k.df, 0) <= RANKING.lexicalBudget) out.candidateQuery = anyOfQuery(known.map((k) => k.term));
  else out.candidateQuery = allOfQuery(known.map((k) => k.term));
  return out;
}

/**
 * Ranks live memories for a query. Returns at most `limit` results, best first, each with the
 * ranks that explain it. Pure ranking: hydration of texts is the caller's job.
 */
export async function rankMemories(
  client: Client,
  filter: MemoryFilter,
  query: string,
  strategy: Exclude<Strategy, 'recent'>,
  limit: number,
  dimension: number,
  vectors?: VectorCache,
  options: RankOptions = {},
): Promise<Ranked[]> {
  const quick = options.quick === true;
  const terms = analyze(query).terms;
  const refs = new Map<string, CandidateRef>();
  const lexicalScore = new Map<string, number>();

  // Round trips: the corpus statistics (with every memory of a corpus ranked whole), then the
  // lexical and bucket candidates together, then the entries not cached.
  const stats = terms.length > 0 ? await termStats(client, filter, terms, strategy !== 'lexical' && !quick, quick ? undefined : statsCacheOf(vectors), quick ? RANKING.quickDfCap : RANKING.dfCap) : undefined;
  const queryVector = vectorize(query, { dimension });
  // A small corpus is ranked whole: its vector candidates are the memories sharing any bucket
  // with the query, which the cosine loop below decides, over every memory in scope.
  const whole = stats?.whole;
  const lexical =
    strategy !== 'vector' && stats?.candidateQuery
      ? {
          anyQuery: stats.candidateQuery,
          termQueries: stats.termQueries,
          weights: stats.weights,
          limit: quick ? RANKING.quickCandidates : RANKING.lexicalCandidates,
          labelWeights: RANKING.labelWeights,
          normalization: RANKING.rankNormalization,
          scanLimit: RANKING.lexicalScan,
        }
      : undefined;
  const buckets =
    strategy === 'lexical' || whole
      ? undefined
      : stats
        ? { keys: candidateKeys(query, stats.df, stats.selective, dimension), limit: quick ? RANKING.quickCandidates : RANKING.vectorCandidates }
        : { keys: queryVector.indices, limit: quick ? RANKING.quickCandidates : RANKING.smallCorpus };
  // Only a corpus ranked whole is cached: each of its searches reads all of it again. A larger
  // corpus's candidates are specific to the query; caching them packed and evicting them again
  // cost more than the few hits saved (measured at 100,000 memories over HTTP: Sage CPU per
  // search 27–29 → 25 ms, peak RSS 134 → 113 MiB). So a large corpus's candidates come with
  // their entries in the candidate query itself (one round trip, no second lookup by id), their
  // vectors left encoded until the dot product (packed-vector.ts, EncodedVector).
  let entries: Map<string, RankingEntry>;
  if (whole === undefined && (quick || stats === undefined || stats.n > RANKING.smallCorpus)) {
    entries = new Map();
    for (const row of await candidateEntries(client, filter, lexical, buckets)) {
      refs.set(row.id, row);
      if (row.lexical_score !== null) lexicalScore.set(row.id, row.lexical_score);
      entries.set(row.id, { vector: { base64: row.vector }, sessionId: row.session_id, createdAt: row.created_at_ms, contentHash: row.content_hash });
    }
  } else {
    const sets = await candidateSets(client, filter, lexical, buckets);
    for (const row of sets.lexical) {
      refs.set(row.id, row);
      lexicalScore.set(row.id, row.lexical_score);
    }
    for (const row of whole ?? sets.buckets) if (!refs.has(row.id)) refs.set(row.id, row);
    entries = await loadEntries(client, filter.tenant, refs.values(), vectors, whole !== undefined);
  }
  // From here on a candidate is its position in `ids` (the order candidates were first seen),
  // and what is known of it sits in arrays at that position: a search in a project ranked whole
  // has ~1,000 candidates, and a Map per signal, rank and score (each filled, spread and sorted)
  // was most of the ranking's garbage.
  const ids: string[] = [];
  const list: RankingEntry[] = [];
  const lexicalOf: number[] = []; // NaN: not a lexical candidate
  const similar: number[] = []; // NaN: no similarity above 0
  let maxLexical = 0;
  let maxSimilarity = 0;
  for (const id of refs.keys()) {
    const entry = entries.get(id);
    if (!entry) continue; // forgotten between the candidate query and the entry fetch
    const l = lexicalScore.get(id);
    const s = dot(queryVector, entry.vector);
    if (s === undefined && whole && l === undefined) continue; // shares no bucket: not a candidate
    ids.push(id);
    list.push(entry);
    lexicalOf.push(l ?? Number.NaN);
    similar.push(s !== undefined && s > 0 ? s : Number.NaN);
    if (l !== undefined && l > maxLexical) maxLexical = l;
    if (s !== undefined && s > maxSimilarity) maxSimilarity = s;
  }
  const n = ids.length;

  // Lexical candidates came first, best first (SQL's order); the sorts are stable, as the
  // orders of the signals' own Maps were.
  const lexicalOrder: number[] = [];
  const vectorOrder: number[] = [];
  const recencyOrder: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(lexicalOf[i]!)) lexicalOrder.push(i);
    if (!Number.isNaN(similar[i]!)) vectorOrder.push(i);
    recencyOrder.push(i);
  }
  vectorOrder.sort((a, b) => descending(similar[a]!, similar[b]!));
  recencyOrder.sort((a, b) => descending(list[a]!.createdAt, list[b]!.createdAt));
  const lexicalRank = ranksOf(lexicalOrder, n);
  const vectorRank = ranksOf(vectorOrder, n);
  const recencyRank = ranksOf(recencyOrder, n);

  let pool: number[];
  if (strategy === 'lexical') pool = lexicalOrder;
  else if (strategy === 'vector') pool = vectorOrder;
  else pool = [...lexicalOrder, ...vectorOrder.filter((i) => Number.isNaN(lexicalOf[i]!))];

  // A score per candidate; those outside the pool are never read.
  let score: Float64Array;
  if (strategy === 'lexical') score = Float64Array.from(lexicalOf, (x) => (Number.isNaN(x) ? 0 : x));
  else if (strategy === 'vector') score = Float64Array.from(similar, (x) => (Number.isNaN(x) ? 0 : x));
  else {
    const fused = new Float64Array(n);
    for (const i of pool) {
      const l = maxLexical > 0 && !Number.isNaN(lexicalOf[i]!) ? lexicalOf[i]! / maxLexical : 0;
      const v = maxSimilarity > 0 && !Number.isNaN(similar[i]!) ? similar[i]! / maxSimilarity : 0;
      fused[i] = RANKING.lexicalWeight * l + RANKING.vectorWeight * v + RANKING.recencyWeight / (RANKING.rrfK + recencyRank[i]!);
    }
    score = addContext(fused, pool, list);
    const ranges = dateRanges(query);
    if (ranges.length > 0) {
      for (const i of pool) score[i] = score[i]! + RANKING.dateWeight * dateFit(new Date(list[i]!.createdAt), ranges, RANKING.dateSlackDays);
    }
  }

  const order = [...pool].sort((a, b) => descending(score[a]!, score[b]!) || descending(list[a]!.createdAt, list[b]!.createdAt) || (ids[a]! < ids[b]! ? -1 : 1));
  // Only the results are unpacked into plain vectors (context folds near-duplicates with them).
  return order.slice(0, limit).map((i): Ranked => {
    const c = list[i]!;
    return {
      id: ids[i]!,
      score: score[i]!,
      why: {
        lexical_rank: lexicalRank[i] || null,
        vector_rank: vectorRank[i] || null,
        recency_rank: recencyRank[i] || null,
        lexical_score: Number.isNaN(lexicalOf[i]!) ? null : round(lexicalOf[i]!),
        vector_similarity: Number.isNaN(similar[i]!) ? null : round(similar[i]!),
      },
      vector: toSparse(c.vector),
      contentHash: c.contentHash,
      createdAt: new Date(c.createdAt),
    };
  });
}

/**
 * A comparator's answer for x before y in descending order, as -1, 0 or 1: the difference of
 * two doubles, or of two epoch milliseconds, is a new heap number at every comparison. NaN
 * compares equal, as a NaN difference does.
 */
function descending(x: number, y: number): number {
  return x > y ? -1 : x < y ? 1 : 0;
}

/** 1-based rank of each position in `order`, 0 for positions not in it. */
function ranksOf(order: readonly number[], n: number): Int32Array {
  const ranks = new Int32Array(n);
  order.forEach((i, k) => (ranks[i] = k + 1));
  return ranks;
}

/**
 * Adds to each fused score of the pool a share of its session neighbourhood's: the mean of the
 * best `contextTop` scores among other candidates of the same session created within
 * `contextWindowMs` of it. Only candidates take part, so the cost is bounded by the candidate
 * sets (each session's members are scanned best first and the scan stops once enough
 * neighbours are found). Neighbours contribute their own fused score, not their context, so a
 * strong session cannot inflate itself. Returns new scores (positions as `fused`).
 */
function addContext(fused: Float64Array, pool: readonly number[], list: readonly RankingEntry[]): Float64Array {
  const out = Float64Array.from(fused);
  if (RANKING.contextWeight <= 0) return out;
  const bySession = new Map<string, number[]>();
  for (const i of pool) {
    const session = list[i]!.sessionId;
    if (session === null || fused[i]! <= 0) continue;
    const members = bySession.get(session);
    if (members) members.push(i);
    else bySession.set(session, [i]);
  }
  for (const members of bySession.values()) {
    if (members.length < 2) continue;
    members.sort((a, b) => descending(fused[a]!, fused[b]!));
    for (const m of members) {
      let sum = 0;
      let found = 0;
      for (const k of members) {
        if (found === RANKING.contextTop) break;
        if (k === m || Math.abs(list[k]!.createdAt - list[m]!.createdAt) > RANKING.contextWindowMs) continue;
        sum += fused[k]!;
        found++;
      }
      out[m] = fused[m]! + (RANKING.contextWeight * sum) / RANKING.contextTop;
    }
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
