/**
 * SQL of ranking: the candidate sets of a search and what ranking needs of each candidate.
 * Run as sage_search (search-role.ts) inside a tenant transaction; every predicate set starts
 * with the tenant (filters.ts), and only ids, row versions, scores, vectors and timestamps
 * come back — texts are read afterwards under row-level security.
 *
 * Candidates come back as (id, row version) only, aggregated into one text value: a search in
 * a small project ranks up to a thousand of them, and parsing a thousand result rows of five
 * columns (a Date and a bytea among them) was a sizeable share of a search's CPU and garbage.
 * What ranking needs of a candidate beyond that (session, created_at, content hash, vector) is
 * fixed for a row version, so it is kept between searches (memory/vector-cache.ts) and fetched
 * only for versions not seen before (`rankingEntries`). A search makes three round trips
 * here at most: corpus statistics, candidate sets, entries not cached.
 */
import type { Client } from './db.ts';
import { corpusFilter, filterSql, Params, scopeSql, type MemoryFilter } from './filters.ts';

export interface CandidateRef {
  id: string;
  /** The row version (xmin): every UPDATE changes it, so it validates what is cached for the row. */
  version: string;
}

export interface LexicalCandidate extends CandidateRef {
  lexical_score: number;
}

/** What ranking needs of one row version beyond its id. */
export interface EntryRow {
  id: string;
  version: string;
  session_id: string | null;
  created_at: Date;
  content_hash: Uint8Array;
  vector: Uint8Array;
}

/** `id:version,id:version,…` (uuids and xids contain neither separator). */
function parseRefs(text: string | null | undefined): CandidateRef[] {
  if (!text) return [];
  return text.split(',').map((ref) => {
    const colon = ref.indexOf(':');
    return { id: ref.slice(0, colon), version: ref.slice(colon + 1) };
  });
}

/** `id:version:score,…`: float8 text output is exact (shortest round-trip form since PostgreSQL 12). */
function parseScored(text: string | null | undefined): LexicalCandidate[] {
  if (!text) return [];
  return text.split(',').map((ref) => {
    const [id, version, score] = ref.split(':') as [string, string, string];
    return { id, version, lexical_score: Number(score) };
  });
}

/** One text value of the rows of `source` (a subquery with id and xmin), in their order. */
const refsOf = (source: string) => `(SELECT string_agg(r.id::text || ':' || r.xmin::text, ',') FROM (${source}) r)`;

export interface CorpusStats {
  /** Live memories in the ranking corpus (tenant and projects), counted up to `corpusCap`. */
  n: number;
  /** Document frequency of each single-term tsquery, counted up to `dfCap`. */
  dfs: number[];
  /**
   * When asked for (`wholeLimit`) and n ≤ wholeLimit: every live memory matching the filter,
   * the candidates of a corpus ranked whole. In physical order, as a bitmap scan of the bucket
   * index returned them before (the order candidates are first seen in breaks ties in recency).
   */
  whole: CandidateRef[] | undefined;
}

/**
 * The ranking corpus in one round trip: how many live memories it holds (counting at most
 * `corpusCap`, an index-only scan), the document frequency of each single-term tsquery
 * (counting at most `dfCap` per term, through the scoped GIN index: one heap visit per memory
 * counted, so a common term costs no more than `dfCap` visits), and — for a corpus small
 * enough to be ranked whole — its memories, read through the (tenant, project, created_at)
 * index in the same statement (a subquery under CASE runs only when its branch is taken).
 * Reading them through the bucket index instead meant merging a posting list per bucket of the
 * query (a common 3-gram's list is as long as the tenant) to find nearly every memory anyway.
 */
export async function corpusStats(
  client: Client,
  filter: MemoryFilter,
  termQueries: readonly string[],
  corpusCap: number,
  dfCap: number,
  wholeLimit: number | undefined,
): Promise<CorpusStats> {
  const params = new Params();
  const corpus = corpusFilter(filter);
  const where = filterSql(corpus, params);
  const scope = scopeSql(corpus, params);
  const n = `(SELECT count(*) FROM (SELECT 1 FROM memories m WHERE ${where} LIMIT ${params.add(corpusCap)}) c)::int`;
  const dfs = `ARRAY(SELECT (SELECT count(*) FROM (SELECT 1 FROM memories m WHERE ${where} AND ${scope} AND m.lexemes @@ x.q LIMIT ${params.add(dfCap)}) c)::int
                     FROM unnest(${params.add(termQueries)}::tsquery[]) WITH ORDINALITY AS x(q, i) ORDER BY x.i)`;
  let whole = 'NULL::text';
  if (wholeLimit !== undefined) {
    const limit = params.add(wholeLimit);
    whole = `CASE WHEN s.n <= ${limit} THEN ${refsOf(`SELECT m.id, m.xmin FROM memories m WHERE ${filterSql(filter, params)} ORDER BY m.ctid LIMIT ${limit}`)} END`;
  }
  const res = await client.query<{ n: number; dfs: number[]; whole: string | null }>(
    // OFFSET 0 keeps the subquery whole: flattened, each use of s.n ran the count again (at
    // 100,000 memories, two index-only scans of a 17,000-memory project instead of one).
    `SELECT s.n, s.dfs, ${whole} AS whole FROM (SELECT ${n} AS n, ${dfs} AS dfs OFFSET 0) s`,
    params.values,
  );
  const row = res.rows[0];
  const count = row?.n ?? 0;
  return {
    n: count,
    dfs: termQueries.map((_, i) => row?.dfs[i] ?? 0),
    whole: wholeLimit !== undefined && count <= wholeLimit ? parseRefs(row?.whole) : undefined,
  };
}

/**
 * Only the document frequencies of `corpusStats` (for a corpus whose size is known already:
 * memory/stats-cache.ts).
 */
export async function termFrequencies(client: Client, filter: MemoryFilter, termQueries: readonly string[], dfCap: number): Promise<number[]> {
  if (termQueries.length === 0) return [];
  const params = new Params();
  const corpus = corpusFilter(filter);
  const where = filterSql(corpus, params);
  const scope = scopeSql(corpus, params);
  const res = await client.query<{ dfs: number[] }>(
    `SELECT ARRAY(SELECT (SELECT count(*) FROM (SELECT 1 FROM memories m WHERE ${where} AND ${scope} AND m.lexemes @@ x.q LIMIT ${params.add(dfCap)}) c)::int
                  FROM unnest(${params.add(termQueries)}::tsquery[]) WITH ORDINALITY AS x(q, i) ORDER BY x.i) AS dfs`,
    params.values,
  );
  const row = res.rows[0];
  return termQueries.map((_, i) => row?.dfs[i] ?? 0);
}

export interface LexicalQuery {
  /** The tsquery that selects candidates. */
  anyQuery: string;
  /** Single-term tsqueries and their weights (IDF): score = Σ weight × ts_rank. */
  termQueries: readonly string[];
  weights: readonly number[];
  limit: number;
  labelWeights: readonly [number, number, number, number];
  normalization: number;
  scanLimit: number;
}

/**
 * The two candidate sets of a large corpus in one round trip.
 *
 * lexical: memories matching `anyQuery`, scored as the sum over query terms of
 * weight × ts_rank (a BM25-like sum: the weights carry the terms' IDF). ts_rank's label
 * weights {D, C, B, A} make content (A) count more than the user's side (B). At most
 * `scanLimit` matches are scored (ts_rank reads each one's lexemes): the caller keeps the
 * query selective, this only bounds the worst case. Best first; ties newest first.
 * `lexemes || ''` is the same tsvector, detoasted once: a memory's lexemes (~2 KB) are
 * usually stored out of line, and every function given the column itself fetches them again —
 * once per query term for `@@` and once more for ts_rank, so a ten-term query detoasted each
 * candidate up to twenty times (measured at 100,000 memories, the query's execution time summed
 * over 40 searches: 1,106 ms → 629 ms).
 *
 * buckets: memories sharing at least one of `keys` (hash buckets) with the query, at most
 * `limit`.
 */
/**
 * The lexical candidates as one SELECT (see candidateSets): at most `scanLimit` rows matching
 * `anyQuery` under `where`, scored, the best `limit` of them, ties newest first. `inner` are the
 * columns read from each match (with m.created_at, for the order), `outer` those returned
 * beside `score`.
 */
function scoredMatchesSql(where: string, lexical: LexicalQuery, params: Params, inner: string, outer: string): string {
  return `SELECT ${outer}, coalesce(s.score, 0) AS score
       FROM (
         SELECT ${inner}, m.lexemes || ''::tsvector AS lexemes FROM memories m
         WHERE ${where} AND m.lexemes @@ ${params.add(lexical.anyQuery)}::tsquery
         LIMIT ${params.add(lexical.scanLimit)}
       ) m
       CROSS JOIN LATERAL (
         SELECT sum(x.w * ts_rank(${params.add(lexical.labelWeights)}::float4[], m.lexemes, x.q, ${params.add(lexical.normalization)}::int)) AS score
         FROM unnest(${params.add(lexical.termQueries)}::tsquery[], ${params.add(lexical.weights)}::float8[]) AS x(q, w)
         WHERE m.lexemes @@ x.q
       ) s
       ORDER BY s.score DESC, m.created_at DESC
       LIMIT ${params.add(lexical.limit)}`;
}

export async function candidateSets(
  client: Client,
  filter: MemoryFilter,
  lexical: LexicalQuery | undefined,
  buckets: { keys: Int32Array; limit: number } | undefined,
): Promise<{ lexical: LexicalCandidate[]; buckets: CandidateRef[] }> {
  const params = new Params();
  const where = `${filterSql(filter, params)} AND ${scopeSql(filter, params)}`;
  let lexicalSql = 'NULL::text';
  if (lexical) {
    lexicalSql = `(SELECT string_agg(r.id::text || ':' || r.version || ':' || r.score::text, ',') FROM (
       ${scoredMatchesSql(where, lexical, params, 'm.id, m.xmin::text AS version, m.created_at', 'm.id, m.version')}
     ) r)`;
  }
  let bucketSql = 'NULL::text';
  if (buckets && buckets.keys.length > 0) {
    bucketSql = refsOf(`SELECT m.id, m.xmin FROM memories m WHERE ${where} AND m.vector_keys && ${params.add(Array.from(buckets.keys))}::int4[] LIMIT ${params.add(buckets.limit)}`);
  }
  if (lexicalSql === 'NULL::text' && bucketSql === 'NULL::text') return { lexical: [], buckets: [] };
  const res = await client.query<{ lexical: string | null; buckets: string | null }>(`SELECT ${lexicalSql} AS lexical, ${bucketSql} AS buckets`, params.values);
  return { lexical: parseScored(res.rows[0]?.lexical), buckets: parseRefs(res.rows[0]?.buckets) };
}

/** A candidate of a large corpus with what ranking needs of it (`candidateEntries`). */
export interface CandidateEntryRow {
  id: string;
  version: string;
  /** The lexical score, or null for a bucket candidate that is not a lexical one. */
  lexical_score: number | null;
  session_id: string | null;
  /** created_at in epoch milliseconds (truncated, as a Date parsed from it would be). */
  created_at_ms: number;
  content_hash: Uint8Array;
  /** The encoded vector (vectorize's codec) in base64. */
  vector: string;
}

/**
 * The candidate sets of a large corpus, as `candidateSets` defines them, with what ranking needs
 * of each candidate (session, created_at, content hash, vector), in one statement: lexical
 * candidates first, best first (ties newest first), then the bucket candidates that are not
 * lexical ones, in the order found.
 *
 * A large corpus's candidates are specific to the query and not cached (memory/search.ts), so
 * `candidateSets` followed by `rankingEntries` found each candidate twice: once in the scans
 * that select it, then again through the primary key, in a second round trip. Here the scans
 * carry the row's columns along — the vector only as its TOAST pointer, through the top-N sort
 * and the CTEs — and only the chosen rows' vectors are read (measured at 100,000 memories,
 * 400 candidates: the primary-key lookups alone were ~2.4 ms of PostgreSQL time per search).
 * The rows are put in order before the vectors are read and encoded (the subquery with OFFSET 0;
 * the outer ORDER BY costs nothing, the planner knows the order): sorted after, each row carried
 * its ~2 KB of base64 into the sort. Measured on the 102 large-project queries of the 10,000
 * benchmark database, run as captured, five interleaved passes: mean 5.6 → 4.8 ms, p90 11.0 →
 * 8.5, p95 13.4 → 10.6; at 100,000 (272 queries) within the noise.
 */
export async function candidateEntries(
  client: Client,
  filter: MemoryFilter,
  lexical: LexicalQuery | undefined,
  buckets: { keys: Int32Array; limit: number } | undefined,
): Promise<CandidateEntryRow[]> {
  const params = new Params();
  const where = `${filterSql(filter, params)} AND ${scopeSql(filter, params)}`;
  const columns = 'm.id, m.xmin, m.session_id, m.created_at, m.content_hash, m.vector';
  const parts: string[] = [];
  let lexicalCte = '';
  if (lexical) {
    lexicalCte = `lex AS MATERIALIZED (${scoredMatchesSql(where, lexical, params, columns, columns)})`;
    parts.push(`SELECT 0 AS part, l.*, row_number() OVER () AS ord FROM lex l`);
  }
  if (buckets && buckets.keys.length > 0) {
    // The first `limit` bucket matches, then those that are lexical candidates dropped: the same
    // candidates as candidateSets gives (not `limit` beyond the lexical ones).
    parts.push(`SELECT 1 AS part, b.*, NULL::float8 AS score, row_number() OVER () AS ord FROM (
       SELECT ${columns} FROM memories m
       WHERE ${where} AND m.vector_keys && ${params.add(Array.from(buckets.keys))}::int4[]
       LIMIT ${params.add(buckets.limit)}
     ) b ${lexical ? 'WHERE b.id NOT IN (SELECT id FROM lex)' : ''}`);
  }
  if (parts.length === 0) return [];
  const res = await client.query<{ id: string; version: string; score: number | null; session_id: string | null; created_at_ms: string; content_hash: Uint8Array; vector: string }>(
    `${lexicalCte ? `WITH ${lexicalCte}` : ''}
     SELECT c.id, c.xmin::text AS version, c.score, c.session_id,
            floor(extract(epoch FROM c.created_at) * 1000)::int8 AS created_at_ms, c.content_hash, encode(c.vector, 'base64') AS vector
     FROM (SELECT * FROM (${parts.join(' UNION ALL ')}) u ORDER BY u.part, u.ord OFFSET 0) c
     ORDER BY c.part, c.ord`,
    params.values,
  );
  return res.rows.map((r) => ({
    id: r.id,
    version: r.version,
    lexical_score: r.score,
    session_id: r.session_id,
    created_at_ms: Number(r.created_at_ms),
    content_hash: r.content_hash,
    vector: r.vector,
  }));
}

/**
 * What ranking needs of live memories by id (the current versions). Vectors (~1.5 KB packed) come as
 * base64 rather than bytea's hex text: a third less to send, convert to a string and decode.
 * (node-pg's binary result format would send the bytes themselves, but its protocol parser
 * decodes every field of a connection in text mode as UTF-8, which corrupts bytea.)
 */
export async function rankingEntries(client: Client, tenant: string, ids: readonly string[]): Promise<EntryRow[]> {
  if (ids.length === 0) return [];
  const res = await client.query<{ id: string; version: string; session_id: string | null; created_at: Date; content_hash: Uint8Array; vector: string }>(
    `SELECT m.id, m.xmin::text AS version, m.session_id, m.created_at, m.content_hash, encode(m.vector, 'base64') AS vector
     FROM memories m WHERE m.tenant = $1 AND m.id = ANY($2::uuid[]) AND m.deleted_at IS NULL`,
    [tenant, ids],
  );
  return res.rows.map((r) => ({ ...r, vector: Buffer.from(r.vector, 'base64') }));
}
