/**
 * SQL for memories. Functions take a client that is already inside a tenant transaction
 * (Database.tx) and return plain records; ranking decisions live in memory/search.ts.
 */
import type { Kind, Memory } from '../memory/model.ts';
import type { Client, Database } from './db.ts';
import { filterSql, Params, scopeSql, type MemoryFilter } from './filters.ts';
import { SEARCH_ROLE } from './migrations/004_search_scale.ts';
import { enterSearchRoleSql } from './search-role.ts';
import { upsertSessionSql } from './sessions.ts';

export interface MemoryRow {
  id: string;
  project: string;
  session_id: string | null;
  kind: Kind;
  user_text: string | null;
  content: string;
  tags: string[];
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'm.id, m.project, m.session_id, m.kind, m.user_text, m.content, m.tags, m.metadata, m.created_at, m.updated_at';

export function toMemory(row: MemoryRow): Memory {
  return {
    id: row.id,
    project: row.project,
    session: row.session_id,
    kind: row.kind,
    user_prompt: row.user_text,
    content: row.content,
    tags: row.tags,
    metadata: row.metadata,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Everything stored for one memory, already derived (hash, vector, lexemes). */
export interface NewMemoryRow {
  tenant: string;
  id?: string;
  project: string;
  session: string | null;
  kind: Kind;
  userText: string | null;
  content: string;
  tags: readonly string[];
  metadata: Record<string, unknown>;
  contentHash: Uint8Array;
  vector: Uint8Array;
  vectorKeys: Int32Array;
  lexemes: string;
  vectorizerVersion: string;
  createdAt?: Date;
  updatedAt?: Date;
  deletedAt?: Date | null;
}

/** PostgreSQL's type oid of int4, named in the binary form of an int4[]. */
const INT4_OID = 23;

/**
 * The binary wire form of a one-dimensional int4[] without NULLs (array_recv: ndim, has-null
 * flag, element type, then size and lower bound of the dimension, then length-prefixed
 * big-endian elements). node-postgres sends a Buffer parameter in binary, so bucket keys cross
 * as bytes instead of as a text literal that JavaScript formats and PostgreSQL parses number by
 * number. `parts` are concatenated into one array (an import slices it per row).
 */
export function int4ArrayBinary(parts: readonly Int32Array[]): Buffer {
  let count = 0;
  for (const p of parts) count += p.length;
  const header = count === 0 ? 12 : 20;
  const buf = Buffer.allocUnsafe(header + 8 * count);
  buf.writeInt32BE(count === 0 ? 0 : 1, 0);
  buf.writeInt32BE(0, 4);
  buf.writeInt32BE(INT4_OID, 8);
  if (count === 0) return buf;
  buf.writeInt32BE(count, 12);
  buf.writeInt32BE(1, 16);
  let at = header;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      buf.writeInt32BE(4, at);
      buf.writeInt32BE(p[i]!, at + 4);
      at += 8;
    }
  }
  return buf;
}

/** A Uint8Array as a Buffer without copying, so node-postgres sends it in binary. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** VALUES rows for INSERT_COLUMNS, as SQL literals (a save's one-round-trip script). */
function insertValues(rows: readonly NewMemoryRow[], params: Literals): string {
  return rows
    .map((r) => {
      const id = r.id ? `${params.add(r.id)}::uuid` : 'gen_random_uuid()';
      const created = r.createdAt ? params.add(r.createdAt) : 'now()';
      const updated = r.updatedAt ? params.add(r.updatedAt) : created;
      const deleted = r.deletedAt ? params.add(r.deletedAt) : 'NULL';
      return `(${params.add(r.tenant)}, ${id}, ${params.add(r.project)}, ${params.add(r.session)}, ${params.add(r.kind)},
        ${params.add(r.userText)}, ${params.add(r.content)}, ${params.add(r.tags)}::text[], ${params.add(r.metadata)}::jsonb,
        ${params.add(r.contentHash)}, ${params.add(r.vector)}, ${params.add(r.vectorKeys)}::int4[],
        ${params.add(r.lexemes)}::tsvector, ${params.add(r.vectorizerVersion)}, ${created}, ${updated}, ${deleted})`;
    })
    .join(',\n');
}

const INSERT_COLUMNS =
  '(tenant, id, project, session_id, kind, user_text, content, tags, metadata, content_hash, vector, vector_keys, lexemes, vectorizer_version, created_at, updated_at, deleted_at)';

/**
 * SQL literals in place of numbered parameters, for statements sent as text in a
 * one-round-trip script (Database.script: the simple query protocol carries no parameters).
 * Text is quoted as pg's escapeLiteral quotes it (any text, backslashes included, whatever
 * standard_conforming_strings says); numbers must be finite; bytes go as bytea hex, Dates as
 * ISO 8601 text, objects as JSON.
 */
export class Literals extends Params {
  override add(value: unknown): string {
    return literal(value);
  }
}

/**
 * pg's escapeLiteral, with native replaces instead of its loop that appends one character at a
 * time: a save quotes ~10 KB of text, and the loop cost ~0.2 ms of it.
 */
export function quoteText(text: string): string {
  const quoted = `'${text.replaceAll("'", "''")}'`;
  return text.includes('\\') ? ` E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quoteText(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${value} has no SQL literal`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return quoteText(value.toISOString());
  // bytea hex in an escape string: hex digits need no quoting.
  if (value instanceof Uint8Array) return `E'\\\\x${asBuffer(value).toString('hex')}'`;
  // int4[] (bucket keys) as one array literal: PostgreSQL parses it faster than an ARRAY[] of expressions.
  if (value instanceof Int32Array) return `'{${value.join(',')}}'`;
  if (Array.isArray(value)) return `ARRAY[${value.map(literal).join(', ')}]`;
  return quoteText(JSON.stringify(value));
}

/** A save's outcome: the stored row's id, whether it is new, and near-duplicate candidates. */
export interface SavedMemory {
  id: string;
  createdAt: Date;
  inserted: boolean;
  /** Memories of the project matching `near.query` (only when the memory was inserted). */
  candidates: Array<{ id: string; vector: Uint8Array }>;
}

/**
 * A save in one round trip (Database.script): the session is created or touched and the memory
 * inserted unless identical live content exists in the project, in one statement (data-modifying
 * CTEs) that returns the new row or else the existing one; then, when `near` is given, the
 * near-duplicate candidates are read as sage_search (for the lexeme index, see
 * store/search-role.ts) — only if this memory was inserted (`row.id` exists: an InitPlan, so a
 * duplicate costs one index probe). Race-safe: the unique index decides, not a prior SELECT. A
 * duplicate committed by a concurrent save while this one waited is outside the statement's
 * snapshot: then no row comes back and `existing` is null, and the caller reads it afresh.
 */
export async function saveMemory(
  db: Database,
  row: NewMemoryRow & { id: string },
  near: { query: string; limit: number } | null,
): Promise<SavedMemory | null> {
  const sql = new Literals();
  const session = row.session === null ? '' : `touched AS (${upsertSessionSql(sql, { tenant: row.tenant, id: row.session, project: row.project, title: null, at: row.createdAt ?? null })}), `;
  const statements = [
    `WITH ${session}ins AS (INSERT INTO memories ${INSERT_COLUMNS} VALUES ${insertValues([row], sql)}
       ON CONFLICT (tenant, project, content_hash) WHERE deleted_at IS NULL DO NOTHING
       RETURNING id, created_at)
     SELECT id, created_at, true AS inserted FROM ins
     UNION ALL
     SELECT id, created_at, false FROM memories
      WHERE tenant = ${sql.add(row.tenant)} AND project = ${sql.add(row.project)} AND content_hash = ${sql.add(row.contentHash)} AND deleted_at IS NULL
        AND NOT EXISTS (SELECT FROM ins)`,
  ];
  if (near) {
    const filter = { tenant: row.tenant, projects: [row.project] };
    statements.push(
      enterSearchRoleSql(sql.add(SEARCH_ROLE)),
      `SELECT m.id, m.vector FROM memories m WHERE ${filterSql(filter, sql)} AND ${scopeSql(filter, sql)} AND m.lexemes @@ ${sql.add(near.query)}::tsquery
         AND EXISTS (SELECT FROM memories s WHERE s.tenant = ${sql.add(row.tenant)} AND s.id = ${sql.add(row.id)}::uuid)
       LIMIT ${sql.add(near.limit)}`,
    );
  }
  const [stored, , candidates] = await db.script(row.tenant, statements);
  const found = (stored?.rows as Array<{ id: string; created_at: Date; inserted: boolean }> | undefined)?.[0];
  if (!found) return null;
  return {
    id: found.id,
    createdAt: found.created_at,
    inserted: found.inserted,
    candidates: found.inserted ? ((candidates?.rows ?? []) as Array<{ id: string; vector: Uint8Array }>) : [],
  };
}

/** The live memory of a project with this content hash, if any. */
export async function liveByHash(client: Client, tenant: string, project: string, contentHash: Uint8Array): Promise<{ id: string; createdAt: Date } | undefined> {
  const res = await client.query<{ id: string; created_at: Date }>(
    `SELECT id, created_at FROM memories WHERE tenant = $1 AND project = $2 AND content_hash = $3 AND deleted_at IS NULL`,
    [tenant, project, contentHash],
  );
  const found = res.rows[0];
  return found ? { id: found.id, createdAt: found.created_at } : undefined;
}

export async function getMemory(client: Client, tenant: string, id: string): Promise<MemoryRow | undefined> {
  const res = await client.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories m WHERE m.tenant = $1 AND m.id = $2 AND m.deleted_at IS NULL`, [tenant, id]);
  return res.rows[0];
}

export async function getMemories(client: Client, tenant: string, ids: readonly string[]): Promise<Map<string, MemoryRow>> {
  if (ids.length === 0) return new Map();
  return memoriesOf(await client.query(memoriesByIdSql(tenant, ids)));
}

/**
 * The live memories of `ids`, as one statement of SQL literals: it can go in a simple query with
 * others, as the last round trip of a ranked read does (Database.rankThenRead). `memoriesOf`
 * reads its result.
 */
export function memoriesByIdSql(tenant: string, ids: readonly string[]): string {
  return `SELECT ${COLUMNS} FROM memories m WHERE m.tenant = ${quoteText(tenant)} AND m.id = ANY(${literal(ids)}::uuid[]) AND m.deleted_at IS NULL`;
}

export function memoriesOf(result: { rows: unknown[] }): Map<string, MemoryRow> {
  return new Map((result.rows as MemoryRow[]).map((r) => [r.id, r]));
}

/** A rewrite of a live memory: its text and everything derived from it, keyed by id. */
export type MemoryChange = { id: string } & Pick<
  NewMemoryRow,
  'tenant' | 'kind' | 'userText' | 'content' | 'tags' | 'metadata' | 'contentHash' | 'vector' | 'vectorKeys' | 'lexemes' | 'vectorizerVersion'
>;

/** Rewrites a live memory; returns false if it does not exist. A unique violation means a duplicate. */
export async function updateMemory(client: Client, change: MemoryChange): Promise<MemoryRow | undefined> {
  const res = await client.query<MemoryRow>(
    `UPDATE memories m SET kind = $3, user_text = $4, content = $5, tags = $6::text[], metadata = $7::jsonb,
       content_hash = $8, vector = $9, vector_keys = $10::int4[], lexemes = $11::tsvector, vectorizer_version = $12, updated_at = now()
     WHERE m.tenant = $1 AND m.id = $2 AND m.deleted_at IS NULL
     RETURNING ${COLUMNS}`,
    [
      change.tenant,
      change.id,
      change.kind,
      change.userText,
      change.content,
      change.tags,
      change.metadata,
      change.contentHash,
      change.vector,
      Array.from(change.vectorKeys),
      change.lexemes,
      change.vectorizerVersion,
    ],
  );
  return res.rows[0];
}

export async function softDeleteIds(client: Client, tenant: string, ids: readonly string[]): Promise<string[]> {
  const res = await client.query<{ id: string }>(
    `UPDATE memories SET deleted_at = now(), updated_at = now() WHERE tenant = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL RETURNING id`,
    [tenant, ids],
  );
  return res.rows.map((r) => r.id);
}

/** Ids of live memories matching a filter, newest first, at most `limit` (plus the total). */
export async function matchingIds(client: Client, filter: MemoryFilter, limit: number): Promise<{ ids: string[]; total: number }> {
  const params = new Params();
  const where = filterSql(filter, params);
  const res = await client.query<{ id: string; total: number }>(
    `SELECT m.id, count(*) OVER ()::int AS total FROM memories m WHERE ${where} ORDER BY m.created_at DESC LIMIT ${params.add(limit)}`,
    params.values,
  );
  return { ids: res.rows.map((r) => r.id), total: res.rows[0]?.total ?? 0 };
}

/** Newest first, for the `recent` strategy and listings. */
export async function recentMemories(client: Client, filter: MemoryFilter, limit: number, offset: number): Promise<MemoryRow[]> {
  const params = new Params();
  const where = filterSql(filter, params);
  const res = await client.query<MemoryRow>(
    `SELECT ${COLUMNS} FROM memories m WHERE ${where} ORDER BY m.created_at DESC, m.id LIMIT ${params.add(limit)} OFFSET ${params.add(offset)}`,
    params.values,
  );
  return res.rows;
}

export interface Counts {
  memories: number;
  by_kind: Record<string, number>;
  projects: number;
  sessions: number;
  deleted: number;
  stale_vectors: number;
}

export async function counts(client: Client, tenant: string, vectorizerVersion: string): Promise<Counts> {
  const kinds = await client.query<{ kind: string; n: number }>(
    `SELECT kind, count(*)::int AS n FROM memories WHERE tenant = $1 AND deleted_at IS NULL GROUP BY kind`,
    [tenant],
  );
  const other = await client.query<{ projects: number; deleted: number; stale: number; sessions: number }>(
    `SELECT (SELECT count(DISTINCT project)::int FROM memories WHERE tenant = $1 AND deleted_at IS NULL) AS projects,
            (SELECT count(*)::int FROM memories WHERE tenant = $1 AND deleted_at IS NOT NULL) AS deleted,
            (SELECT count(*)::int FROM memories WHERE tenant = $1 AND vectorizer_version <> $2) AS stale,
            (SELECT count(*)::int FROM sessions WHERE tenant = $1) AS sessions`,
    [tenant, vectorizerVersion],
  );
  const by_kind: Record<string, number> = {};
  let total = 0;
  for (const row of kinds.rows) {
    by_kind[row.kind] = row.n;
    total += row.n;
  }
  const o = other.rows[0];
  return { memories: total, by_kind, projects: o?.projects ?? 0, sessions: o?.sessions ?? 0, deleted: o?.deleted ?? 0, stale_vectors: o?.stale ?? 0 };
}
