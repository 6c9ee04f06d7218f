/**
 * Hybrid retrieval: full-text search over Sage's own lexemes and hash-vector similarity,
 * with recency, fused by rank (reciprocal rank fusion). Fusion by rank rather than by score
 * needs no similarity threshold, so a one-word query still returns its best matches.
 *
 * The lexical side weighs each query term by its inverse document frequency in the corpus
 * (counted with a cap, so a common term costs no more than a rare one) — Postgres' ts_rank
 * alone has no IDF, and without it "the" and "pgbouncer" would count the same.
 */
import { analyze, cosine, decodeVector, featureKeys, vectorize, type SparseVector } from '../vectorize/index.ts';
import type { Client } from '../store/db.ts';
import type { MemoryFilter } from '../store/filters.ts';
import { quoteLexeme, anyOfQuery } from '../store/lexemes.ts';
import { corpusSize, documentFrequencies, lexicalCandidates, vectorCandidates, type Candidate } from '../store/memories.ts';
import type { Why } from './model.ts';

export const STRATEGIES = ['hybrid', 'lexical', 'vector', 'recent'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Tuning. Measured with `npm run bench:recall`; see the README's retrieval table. */
export const RANKING = {
  rrfK: 60,
  lexicalWeight: 1,
  vectorWeight: 1,
  recencyWeight: 0.1,
  lexicalCandidates: 200,
  vectorCandidates: 1000,
  dfCap: 10_000,
  corpusCap: 10_000_000,
  /** Terms in more than this share of the corpus are scored but do not select candidates. */
  commonTermShare: 0.25,
} as const;

export interface Ranked {
  id: string;
  score: number;
  why: Why;
  vector: SparseVector;
  contentHash: Uint8Array;
  createdAt: Date;
}

interface TermStats {
  termQueries: string[];
  weights: number[];
  selective: string[];
}

async function termStats(client: Client, filter: MemoryFilter, terms: readonly string[]): Promise<TermStats> {
  const tf = new Map<string, number>();
  for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
  const unique = [...tf.keys()];
  const termQueries = unique.map(quoteLexeme);
  const [n, dfs] = await Promise.all([
    corpusSize(client, filter, RANKING.corpusCap),
    documentFrequencies(client, filter, termQueries, RANKING.dfCap),
  ]);
  const out: TermStats = { termQueries: [], weights: [], selective: [] };
  const known: { term: string; df: number }[] = [];
  unique.forEach((term, i) => {
    const df = dfs[i] ?? 0;
    if (df === 0) return; // unknown here (often a typo): the vector side's n-grams handle it
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    out.termQueries.push(termQueries[i]!);
    out.weights.push(idf * (1 + Math.log(tf.get(term)!)));
    known.push({ term, df });
  });
  const selective = known.filter((k) => k.df <= n * RANKING.commonTermShare).map((k) => k.term);
  out.selective = selective.length > 0 ? selective : known.map((k) => k.term);
  return out;
}

function rankMap(ids: readonly string[]): Map<string, number> {
  return new Map(ids.map((id, i) => [id, i + 1]));
}

function rrf(rank: number | undefined, weight: number): number {
  return rank === undefined ? 0 : weight / (RANKING.rrfK + rank);
}

/**
 * Ranks live memories for a query. Returns at most `limit` results, best first, each with the
 * ranks that explain it. Pure ranking: hydration of texts is the caller's job.
 */
export async function rankMemories(client: Client, filter: MemoryFilter, query: string, strategy: Exclude<Strategy, 'recent'>, limit: number, dimension: number): Promise<Ranked[]> {
  const terms = analyze(query).terms;
  const candidates = new Map<string, Candidate>();
  const lexicalScore = new Map<string, number>();

  if (strategy !== 'vector' && terms.length > 0) {
    const stats = await termStats(client, filter, terms);
    const any = anyOfQuery(stats.selective.map((t) => t));
    if (any) {
      const rows = await lexicalCandidates(client, filter, any, stats.termQueries, stats.weights, RANKING.lexicalCandidates);
      for (const row of rows) {
        candidates.set(row.id, row);
        lexicalScore.set(row.id, Number(row.lexical_score ?? 0));
      }
    }
  }

  const queryVector = vectorize(query, { dimension });
  if (strategy !== 'lexical') {
    const rows = await vectorCandidates(client, filter, featureKeys(queryVector), RANKING.vectorCandidates);
    for (const row of rows) if (!candidates.has(row.id)) candidates.set(row.id, row);
  }

  const decoded = new Map<string, SparseVector>();
  const similarity = new Map<string, number>();
  for (const [id, c] of candidates) {
    const v = decodeVector(c.vector);
    decoded.set(id, v);
    const s = cosine(queryVector, v);
    if (s > 0) similarity.set(id, s);
  }

  const lexicalOrder = [...lexicalScore.keys()]; // already sorted by SQL
  const vectorOrder = [...similarity.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
  const recencyOrder = [...candidates.values()].sort((a, b) => b.created_at.getTime() - a.created_at.getTime()).map((c) => c.id);
  const lexicalRank = rankMap(lexicalOrder);
  const vectorRank = rankMap(vectorOrder);
  const recencyRank = rankMap(recencyOrder);

  let pool: string[];
  if (strategy === 'lexical') pool = lexicalOrder;
  else if (strategy === 'vector') pool = vectorOrder;
  else pool = [...new Set([...lexicalOrder, ...vectorOrder])];

  const ranked: Ranked[] = pool.map((id) => {
    const lr = lexicalRank.get(id);
    const vr = vectorRank.get(id);
    const rr = recencyRank.get(id);
    let score: number;
    if (strategy === 'lexical') score = lexicalScore.get(id) ?? 0;
    else if (strategy === 'vector') score = similarity.get(id) ?? 0;
    else score = rrf(lr, RANKING.lexicalWeight) + rrf(vr, RANKING.vectorWeight) + rrf(rr, RANKING.recencyWeight);
    const c = candidates.get(id)!;
    return {
      id,
      score,
      why: {
        lexical_rank: lr ?? null,
        vector_rank: vr ?? null,
        recency_rank: rr ?? null,
        lexical_score: lexicalScore.has(id) ? round(lexicalScore.get(id)!) : null,
        vector_similarity: similarity.has(id) ? round(similarity.get(id)!) : null,
      },
      vector: decoded.get(id)!,
      contentHash: c.content_hash,
      createdAt: c.created_at,
    };
  });
  ranked.sort((a, b) => b.score - a.score || b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  return ranked.slice(0, limit);
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
