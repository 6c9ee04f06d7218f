/**
 * The memory service: every face of Sage (MCP tools, CLI, hooks, benchmarks) goes through
 * these methods. It validates and cleans input, derives what is stored, and keeps each call
 * inside one tenant transaction. It holds no state that correctness depends on, so any number
 * of processes can share one PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, InputError, NotFoundError } from '../errors.ts';
import type { Database } from '../store/db.ts';
import type { MemoryFilter } from '../store/filters.ts';
import {
  counts,
  getMemories,
  getMemory,
  liveByHash,
  matchingIds,
  memoriesByIdSql,
  memoriesOf,
  recentMemories,
  softDeleteIds,
  saveMemory,
  toMemory,
  updateMemory,
  type Counts,
  type SavedMemory,
} from '../store/memories.ts';
import { getSession, listSessions, upsertSession } from '../store/sessions.ts';
import { allOfQuery } from '../store/lexemes.ts';
import { cosine, vectorizerVersion } from '../vectorize/index.ts';
import { SAGE_VERSION } from '../version.ts';
import { Redactor } from './redact.ts';
import { foldNearDuplicates, isRelevant, packContext, type PackedContext } from './context.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { derive } from './derive.ts';
import type { Kind, Memory, NearDuplicate, SaveResult, SearchHit, Session } from './model.ts';
import { fromStored, toSparse } from './packed-vector.ts';
import { rankMemories, type RankOptions, type Strategy } from './search.ts';
import { VectorCache } from './vector-cache.ts';
import { cleanMetadata, cleanName, cleanTags, cleanText, isBlank } from './text.ts';

/** Who is asking, and the defaults their connection carries. */
export interface Caller {
  tenant: string;
  project: string;
  /** The connection's current session (manage_session switch), used when a save names none. */
  session?: string | undefined;
}

export const ALL_PROJECTS = '*';
export const MAX_SEARCH_LIMIT = 50;
/** How deep pagination may go: beyond this, refine the query. */
export const MAX_SEARCH_DEPTH = 500;
export const NEAR_DUPLICATE_SIMILARITY = 0.92;
/** Near-duplicate candidates contain both terms of one of these pairs of the memory's longest terms. */
const NEAR_DUPLICATE_PAIRS = 3;
const NEAR_DUPLICATE_CANDIDATES = 20;
const FORGET_BATCH_LIMIT = 1000;
/**
 * Ranking entries kept between searches (see vector-cache.ts): about 7,000 packed entries
 * (~2,280 bytes each, measured there). Only corpora ranked whole (at most RANKING.smallCorpus
 * memories) are cached, so the entries of several such projects fit at once, each ranked
 * without fetching; a larger corpus's candidates are not cached. Small enough for the RSS
 * budget (README, "Scale").
 */
const VECTOR_CACHE_BYTES = 16 * 2 ** 20;

export interface SaveInput {
  kind: Kind;
  userText?: string | null | undefined;
  content: string;
  session?: string | undefined;
  project?: string | undefined;
  tags?: readonly string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** For imports of history: when the memory was made. Defaults to now. */
  createdAt?: Date | undefined;
}

export interface SearchFilterInput {
  project?: string | undefined;
  session?: string | undefined;
  kinds?: readonly Kind[] | undefined;
  tags?: readonly string[] | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

export interface SearchInput extends SearchFilterInput {
  query?: string | undefined;
  limit?: number | undefined;
  strategy?: Strategy | undefined;
  cursor?: string | undefined;
}

export interface SearchPage {
  results: SearchHit[];
  next_cursor: string | null;
  strategy: Strategy;
}

export interface UpdateInput {
  id: string;
  content?: string | undefined;
  user_prompt?: string | null | undefined;
  kind?: Kind | undefined;
  tags?: readonly string[] | undefined;
  /** Merged into the existing metadata; a key set to null is removed. */
  metadata?: Record<string, unknown> | undefined;
}

export interface ForgetInput {
  ids?: readonly string[] | undefined;
  filter?: SearchFilterInput | undefined;
  dryRun?: boolean | undefined;
}

export interface ForgetResult {
  dry_run: boolean;
  matched: number;
  forgotten: string[];
  ids: string[];
}

export interface Status {
  sage_version: string;
  vectorizer_version: string;
  node_version: string;
  tenant: string;
  project: string;
  session: string | null;
  database: { reachable: boolean; server_version: string | null; latency_ms: number | null; schema_version: number | null; error: string | null };
  counts: Counts | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(id: string): string {
  const trimmed = id.trim();
  if (!UUID.test(trimmed)) throw new InputError(`"${id.slice(0, 60)}" is not a memory id (ids are UUIDs, as returned by save and search)`);
  return trimmed.toLowerCase();
}

function parseTime(field: string, value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InputError(`${field} must be an ISO 8601 date or date-time, such as 2025-03-01 or 2025-03-01T14:00:00Z`);
  return date;
}

export class MemoryService {
  readonly db: Database;
  readonly dimension: number;
  readonly vectorizerVersion: string;
  /** Secrets are removed from every text and metadata value before it is stored. */
  readonly redactor: Redactor;
  readonly vectors = new VectorCache(VECTOR_CACHE_BYTES);

  constructor(db: Database, options: { dimension: number; redactor?: Redactor | undefined }) {
    this.db = db;
    this.dimension = options.dimension;
    this.vectorizerVersion = vectorizerVersion({ dimension: options.dimension });
    this.redactor = options.redactor ?? new Redactor();
  }

  /** cleanText, then redaction; counts what was redacted into `found`. */
  #clean(field: string, value: string, found: Record<string, number>): { text: string; warnings: string[] } {
    const cleaned = cleanText(field, value);
    const redacted = this.redactor.redact(cleaned.text);
    for (const [rule, n] of Object.entries(redacted.found)) found[rule] = (found[rule] ?? 0) + n;
    return { text: redacted.text, warnings: cleaned.warnings };
  }

  /** Builds the SQL filter for a caller, resolving the project default and `*`. */
  filterFor(caller: Caller, input: SearchFilterInput): MemoryFilter {
    const project = input.project === undefined ? caller.project : input.project === ALL_PROJECTS ? undefined : cleanName('project', input.project);
    const filter: MemoryFilter = { tenant: caller.tenant };
    if (project !== undefined) filter.projects = [project];
    if (input.session !== undefined) filter.session = cleanName('session', input.session);
    if (input.kinds && input.kinds.length > 0) filter.kinds = input.kinds;
    if (input.tags && input.tags.length > 0) filter.tags = cleanTags(input.tags);
    const since = parseTime('since', input.since);
    const until = parseTime('until', input.until);
    if (since) filter.since = since;
    if (until) filter.until = until;
    if (since && until && since >= until) throw new InputError('since must be earlier than until');
    return filter;
  }

  async save(caller: Caller, input: SaveInput): Promise<SaveResult> {
    const warnings: string[] = [];
    const redacted: Record<string, number> = {};
    const content = this.#clean(input.kind === 'turn' ? 'assistant_response' : 'content', input.content, redacted);
    warnings.push(...content.warnings);
    let userText: string | null = null;
    if (input.userText !== undefined && input.userText !== null) {
      const cleaned = this.#clean('user_prompt', input.userText, redacted);
      warnings.push(...cleaned.warnings);
      userText = isBlank(cleaned.text) ? null : cleaned.text;
    }
    if (isBlank(content.text)) {
      if (input.kind !== 'turn') throw new InputError('content is empty: there is nothing to remember');
      if (userText === null) throw new InputError('user_prompt and assistant_response are both empty: there is nothing to save');
    }
    if (input.kind !== 'turn' && userText !== null) throw new InputError(`a ${input.kind} has no user_prompt; put everything in content`);
    const project = input.project !== undefined ? cleanName('project', input.project) : caller.project;
    const sessionName = input.session ?? caller.session;
    const session = sessionName !== undefined ? cleanName('session', sessionName) : null;
    const tags = cleanTags(input.tags);
    const metadata = cleanMetadata(input.metadata && (this.redactor.redactValue(input.metadata, redacted) as Record<string, unknown>));
    const secrets = Object.entries(redacted);
    if (secrets.length > 0) warnings.push(`secrets were redacted before storing: ${secrets.map(([rule, n]) => `${rule} ×${n}`).join(', ')}`);
    const derived = derive(input.kind, userText, content.text, tags, { dimension: this.dimension });

    // A near-duplicate (cosine ≥ 0.92) shares nearly all of the memory's terms, so it has both
    // terms of at least one pair of its longest ones; similarity decides. Longest, because long
    // words are the rare ones (and identifiers are long): their posting lists are short in a
    // project of any size, so the check costs about the same at any scale. (Pairs of the
    // strongest vector buckets — the most repeated, common words — took 27 ms at the median and
    // 280 ms at p95 in a project of 150,000 memories.)
    const terms = [...new Set(derived.terms)].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0)).slice(0, 2 * NEAR_DUPLICATE_PAIRS);
    const pairs: string[] = [];
    for (let i = 0; i < terms.length; i += 2) {
      const pair = allOfQuery(terms.slice(i, i + 2));
      if (pair) pairs.push(`(${pair})`);
    }
    // One round trip: session, insert (or the existing duplicate) and near-duplicate candidates
    // (read only when the memory is new), committed before the answer (store/memories.ts).
    const row = {
      tenant: caller.tenant,
      id: randomUUID(),
      project,
      session,
      kind: input.kind,
      userText,
      content: content.text,
      tags,
      metadata,
      contentHash: derived.contentHash,
      vector: derived.vector,
      vectorKeys: derived.vectorKeys,
      lexemes: derived.lexemes,
      vectorizerVersion: derived.vectorizerVersion,
      createdAt: input.createdAt,
    };
    let stored: SavedMemory | null = await saveMemory(this.db, row, pairs.length > 0 ? { query: pairs.join(' | '), limit: NEAR_DUPLICATE_CANDIDATES } : null);
    if (!stored) {
      // The duplicate was committed by a concurrent save while this one waited on it: read it now.
      const existing = await this.db.tx(caller.tenant, (client) => liveByHash(client, caller.tenant, project, derived.contentHash), { readOnly: true });
      if (!existing) throw new Error('duplicate content vanished during insert; retry');
      stored = { ...existing, inserted: false, candidates: [] };
    }
    if (stored.inserted) this.db.pendingLists.noteWrite();
    const near: NearDuplicate[] = stored.candidates
      .filter((r) => r.id !== stored.id)
      .map((r) => ({ id: r.id, similarity: Math.round(cosine(derived.sparse, toSparse(fromStored(r.vector))) * 1e4) / 1e4 }))
      .filter((r) => r.similarity >= NEAR_DUPLICATE_SIMILARITY)
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, 5);
    return {
      id: stored.id,
      duplicate: !stored.inserted,
      near_duplicates: near,
      project,
      session,
      created_at: stored.createdAt.toISOString(),
      warnings,
    };
  }

  async get(caller: Caller, id: string): Promise<Memory> {
    const memoryId = checkId(id);
    const row = await this.db.tx(caller.tenant, (client) => getMemory(client, caller.tenant, memoryId), { readOnly: true });
    if (!row) throw new NotFoundError(`no memory with id ${memoryId} (it may have been forgotten)`);
    return toMemory(row);
  }

  async search(caller: Caller, input: SearchInput): Promise<SearchPage> {
    const strategy = input.strategy ?? 'hybrid';
    const limit = input.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) throw new InputError(`limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
    const filter = this.filterFor(caller, input);
    const query = input.query === undefined ? '' : cleanText('query', input.query).text.trim();
    if (query.length > 10_000) throw new InputError('query is longer than 10000 characters: search with the key words or a short passage');
    if (strategy !== 'recent' && query.length === 0) throw new InputError("query is empty: give words to search for, or use strategy 'recent' to list the newest memories");
    const request = { q: query, s: strategy, f: filter, l: limit };
    const offset = decodeCursor(input.cursor, request);
    if (offset >= MAX_SEARCH_DEPTH) throw new InputError(`pagination stops after ${MAX_SEARCH_DEPTH} results: refine the query or the filters`);
    const want = Math.min(offset + limit + 1, MAX_SEARCH_DEPTH);

    if (strategy === 'recent') {
      return this.db.tx(
        caller.tenant,
        async (client) => {
          const rows = await recentMemories(client, filter, limit + 1, offset);
          const more = rows.length > limit;
          const hits: SearchHit[] = rows.slice(0, limit).map((row, i) => ({
            ...toMemory(row),
            score: 1 / (offset + i + 1),
            why: { lexical_rank: null, vector_rank: null, recency_rank: offset + i + 1, lexical_score: null, vector_similarity: null },
          }));
          return { results: hits, next_cursor: more ? encodeCursor(offset + limit, request) : null, strategy };
        },
        { readOnly: true },
      );
    }
    return this.db.rankThenRead(caller.tenant, async ({ client, finish }) => {
      const ranked = await rankMemories(client, filter, query, strategy, want, this.dimension, this.vectors);
      const page = ranked.slice(offset, offset + limit);
      const more = ranked.length > offset + limit && offset + limit < MAX_SEARCH_DEPTH;
      const rows = memoriesOf(await finish(memoriesByIdSql(caller.tenant, page.map((r) => r.id))));
      const hits = page.flatMap((r): SearchHit[] => {
        const row = rows.get(r.id);
        return row ? [{ ...toMemory(row), score: Math.round(r.score * 1e6) / 1e6, why: r.why }] : [];
      });
      return { results: hits, next_cursor: more ? encodeCursor(offset + limit, request) : null, strategy };
    });
  }

  /** `rank.quick`: for a one-shot process (the prompt hook), see RankOptions in search.ts. */
  async context(caller: Caller, input: { query: string; budget?: number | undefined } & SearchFilterInput, rank: RankOptions = {}): Promise<PackedContext & { project: string }> {
    const budget = input.budget ?? 4000;
    if (!Number.isInteger(budget) || budget < 200 || budget > 100_000) throw new InputError('budget must be a whole number of characters from 200 to 100000');
    const query = cleanText('query', input.query).text.trim();
    if (query.length === 0) throw new InputError('query is empty: pass the user request or topic to find context for');
    const filter = this.filterFor(caller, input);
    const projectLabel = filter.projects?.[0] ?? 'all projects';
    return this.db.rankThenRead(caller.tenant, async ({ client, finish }) => {
      const ranked = (await rankMemories(client, filter, query, 'hybrid', 25, this.dimension, this.vectors, rank)).filter(isRelevant);
      const rows = memoriesOf(await finish(memoriesByIdSql(caller.tenant, ranked.map((r) => r.id))));
      const items = ranked.flatMap((r) => {
        const row = rows.get(r.id);
        return row ? [{ memory: toMemory(row), ranked: r }] : [];
      });
      const packed = packContext(foldNearDuplicates(items), budget, `Relevant memories from Sage (${projectLabel}), most relevant first:`);
      return { ...packed, project: projectLabel };
    });
  }

  async update(caller: Caller, input: UpdateInput): Promise<Memory> {
    const id = checkId(input.id);
    if (input.content === undefined && input.user_prompt === undefined && input.kind === undefined && input.tags === undefined && input.metadata === undefined) {
      throw new InputError('nothing to update: pass content, user_prompt, kind, tags or metadata');
    }
    const updated = await this.db.tx(caller.tenant, async (client) => {
      const current = await getMemory(client, caller.tenant, id);
      if (!current) throw new NotFoundError(`no memory with id ${id} (it may have been forgotten)`);
      const kind = input.kind ?? current.kind;
      const redacted: Record<string, number> = {};
      const content = input.content !== undefined ? this.#clean('content', input.content, redacted).text : current.content;
      let userText = input.user_prompt !== undefined ? (input.user_prompt === null ? null : this.#clean('user_prompt', input.user_prompt, redacted).text) : current.user_text;
      if (isBlank(userText)) userText = null;
      if (kind !== 'turn' && userText !== null) {
        if (input.kind !== undefined && input.user_prompt === undefined) userText = null;
        else throw new InputError(`a ${kind} has no user_prompt; set user_prompt to null or keep kind "turn"`);
      }
      if (isBlank(content) && (kind !== 'turn' || userText === null)) throw new InputError('content would be empty: use forget to remove a memory');
      const tags = input.tags !== undefined ? cleanTags(input.tags) : current.tags;
      let metadata = current.metadata;
      if (input.metadata !== undefined) {
        const merged: Record<string, unknown> = { ...current.metadata };
        for (const [k, v] of Object.entries(this.redactor.redactValue(input.metadata, redacted) as Record<string, unknown>)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        metadata = cleanMetadata(merged);
      }
      const derived = derive(kind, userText, content, tags, { dimension: this.dimension });
      try {
        const row = await updateMemory(client, { tenant: caller.tenant, id, kind, userText, content, tags, metadata, ...derived });
        if (!row) throw new NotFoundError(`no memory with id ${id}`);
        return toMemory(row);
      } catch (err) {
        if ((err as { code?: unknown }).code === '23505') throw new ConflictError('another memory in this project already has exactly this content; forget one of them instead');
        throw err;
      }
    });
    // A changed text is re-indexed: its new entries wait in the pending lists like a save's.
    this.db.pendingLists.noteWrite();
    return updated;
  }

  async forget(caller: Caller, input: ForgetInput): Promise<ForgetResult> {
    const dryRun = input.dryRun ?? false;
    const hasIds = input.ids !== undefined && input.ids.length > 0;
    if (hasIds === (input.filter !== undefined)) throw new InputError('pass either ids or a filter (not both, not neither)');
    return this.db.tx(caller.tenant, async (client) => {
      let ids: string[];
      let matched: number;
      if (hasIds) {
        const wanted = [...new Set(input.ids!.map(checkId))];
        const rows = await getMemories(client, caller.tenant, wanted);
        const missing = wanted.filter((id) => !rows.has(id));
        if (missing.length > 0) throw new NotFoundError(`no memory with id ${missing.join(', ')}: nothing was forgotten`);
        ids = wanted;
        matched = wanted.length;
      } else {
        const f = input.filter!;
        const narrowing = f.session ?? f.tags?.length ?? f.kinds?.length ?? f.since ?? f.until;
        if (!narrowing && f.project === undefined) {
          throw new InputError('a forget filter needs at least one of project, session, kinds, tags, since, until');
        }
        const found = await matchingIds(client, this.filterFor(caller, f), FORGET_BATCH_LIMIT);
        ids = found.ids;
        matched = found.total;
      }
      const forgotten = dryRun ? [] : await softDeleteIds(client, caller.tenant, ids);
      return { dry_run: dryRun, matched, forgotten, ids };
    });
  }

  async createSession(caller: Caller, input: { id?: string | undefined; title?: string | undefined; project?: string | undefined }): Promise<Session> {
    const id = input.id !== undefined ? cleanName('session', input.id) : `s-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const project = input.project !== undefined ? cleanName('project', input.project) : caller.project;
    const title = input.title !== undefined ? cleanText('title', input.title).text.trim().slice(0, 500) || null : null;
    return this.db.tx(caller.tenant, async (client) => {
      await upsertSession(client, caller.tenant, id, project, title);
      const s = await getSession(client, caller.tenant, id);
      if (!s) throw new Error('session vanished after upsert');
      return s;
    });
  }

  async session(caller: Caller, id: string): Promise<Session> {
    const name = cleanName('session', id);
    const s = await this.db.tx(caller.tenant, (client) => getSession(client, caller.tenant, name), { readOnly: true });
    if (!s) throw new NotFoundError(`no session "${name}": create it with manage_session action "create", or list sessions`);
    return s;
  }

  async sessions(caller: Caller, input: { project?: string | undefined; limit?: number | undefined; cursor?: string | undefined }): Promise<{ sessions: Session[]; total: number; next_cursor: string | null }> {
    const limit = input.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new InputError('limit must be a whole number from 1 to 100');
    const project = input.project === undefined ? caller.project : input.project === ALL_PROJECTS ? undefined : cleanName('project', input.project);
    const request = { sessions: project ?? '*', limit };
    const offset = decodeCursor(input.cursor, request);
    const page = await this.db.tx(caller.tenant, (client) => listSessions(client, caller.tenant, project, limit, offset), { readOnly: true });
    const next = offset + limit < page.total ? encodeCursor(offset + limit, request) : null;
    return { ...page, next_cursor: next };
  }

  /** Health and counts; answers even when the database is down (reachable: false). */
  async status(caller: Caller): Promise<Status> {
    const base = {
      sage_version: SAGE_VERSION,
      vectorizer_version: this.vectorizerVersion,
      node_version: process.version,
      tenant: caller.tenant,
      project: caller.project,
      session: caller.session ?? null,
    };
    try {
      const report = await this.db.ready();
      const ping = await this.db.ping();
      const c = await this.db.tx(caller.tenant, (client) => counts(client, caller.tenant, this.vectorizerVersion), { readOnly: true });
      return {
        ...base,
        database: { reachable: true, server_version: ping.serverVersion, latency_ms: Math.round(ping.latencyMs * 100) / 100, schema_version: report.current, error: null },
        counts: c,
      };
    } catch (err) {
      return {
        ...base,
        database: { reachable: false, server_version: null, latency_ms: null, schema_version: null, error: err instanceof Error ? err.message : String(err) },
        counts: null,
      };
    }
  }
}
