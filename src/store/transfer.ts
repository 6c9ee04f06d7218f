/**
 * SQL for export, import and reindex: bulk reads in primary-key order and bulk writes with
 * one statement per batch. Functions take a client already inside a tenant transaction
 * (an export's is a `snapshot` transaction, so that every page comes from one snapshot).
 *
 * Timestamps cross this module as text with microseconds (PostgreSQL's precision), never as
 * JS Dates (milliseconds): a Date would round every `now()` timestamp and make an export lossy.
 */
import type { Kind } from '../memory/model.ts';
import type { Client } from './db.ts';
import { asBuffer, int4ArrayBinary } from './memories.ts';

const TSVECTOR_OID = 3614;

/**
 * A one-dimensional array in PostgreSQL's binary format (what array_recv reads; node-postgres
 * sends a Buffer parameter in binary): header, then each element as int32 length and the
 * element type's own binary form. No escaping on either side.
 */
function binaryArray(elementOid: number, elements: readonly Uint8Array[]): Buffer {
  const header = elements.length === 0 ? 12 : 20;
  let bytes = header;
  for (const e of elements) bytes += 4 + e.byteLength;
  const buf = Buffer.allocUnsafe(bytes);
  buf.writeInt32BE(elements.length === 0 ? 0 : 1, 0); // dimensions
  buf.writeInt32BE(0, 4); // no NULLs
  buf.writeInt32BE(elementOid, 8);
  if (elements.length === 0) return buf;
  buf.writeInt32BE(elements.length, 12);
  buf.writeInt32BE(1, 16); // lower bound
  let at = header;
  for (const e of elements) {
    buf.writeInt32BE(e.byteLength, at);
    buf.set(e, at + 4);
    at += 4 + e.byteLength;
  }
  return buf;
}

/** SHA-256, the content hash of memory/derive.ts. */
const CONTENT_HASH_BYTES = 32;

/** ISO 8601 in UTC with microseconds, e.g. 2025-03-01T14:00:00.123456Z. */
const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface ExportedSession {
  id: string;
  project: string;
  title: string | null;
  created_at: string;
  last_active: string;
}

export interface ExportedMemory {
  id: string;
  project: string;
  session: string | null;
  kind: Kind;
  user_prompt: string | null;
  content: string;
  tags: string[];
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

/**
 * Pages are read in primary-key order (tenant, id) after the last id seen: each page is an
 * index range scan whatever the table size. Ordering by (created_at, id) would need an index
 * that does not exist for all rows of a tenant (memories_by_time is per project and live rows
 * only), and without it every page would scan and sort the whole tenant.
 */
export interface ExportFilter {
  tenant: string;
  /** undefined: every project of the tenant. */
  project: string | undefined;
  includeDeleted: boolean;
}

export async function sessionsPage(client: Client, filter: ExportFilter, afterId: string | null, limit: number): Promise<ExportedSession[]> {
  // With a project filter, a session belongs to the export when it is the project's or when
  // one of the project's memories refers to it (a session may span projects).
  const res = await client.query<ExportedSession>(
    `SELECT s.id, s.project, s.title, ${ISO('s.created_at')} AS created_at, ${ISO('s.last_active')} AS last_active
     FROM sessions s
     WHERE s.tenant = $1 AND ($2::text IS NULL OR s.id > $2)
       AND ($3::text IS NULL OR s.project = $3
            OR s.id IN (SELECT m.session_id FROM memories m
                        WHERE m.tenant = $1 AND m.project = $3 AND m.session_id IS NOT NULL AND ($5 OR m.deleted_at IS NULL)))
     ORDER BY s.id
     LIMIT $4`,
    [filter.tenant, afterId, filter.project ?? null, limit, filter.includeDeleted],
  );
  return res.rows;
}

export async function memoriesPage(client: Client, filter: ExportFilter, afterId: string | null, limit: number): Promise<ExportedMemory[]> {
  const res = await client.query<ExportedMemory>(
    `SELECT m.id, m.project, m.session_id AS session, m.kind, m.user_text AS user_prompt, m.content, m.tags, m.metadata,
            ${ISO('m.created_at')} AS created_at, ${ISO('m.updated_at')} AS updated_at,
            CASE WHEN m.deleted_at IS NULL THEN NULL ELSE ${ISO('m.deleted_at')} END AS deleted_at
     FROM memories m
     WHERE m.tenant = $1 AND ($2::uuid IS NULL OR m.id > $2::uuid)
       AND ($3::text IS NULL OR m.project = $3)
       AND ($4 OR m.deleted_at IS NULL)
     ORDER BY m.id
     LIMIT $5`,
    [filter.tenant, afterId, filter.project ?? null, filter.includeDeleted, limit],
  );
  return res.rows;
}

/** Restores sessions; returns how many were new. */
export async function restoreSessions(client: Client, tenant: string, sessions: readonly ExportedSession[]): Promise<number> {
  if (sessions.length === 0) return 0;
  // An existing session keeps its project and title (unless it had none) and widens its time
  // span to cover the imported one: importing an old backup into a live database never moves
  // a session's activity backwards, and importing the same file twice changes nothing.
  const res = await client.query<{ inserted: boolean }>(
    `INSERT INTO sessions AS s (tenant, id, project, title, created_at, last_active)
     SELECT $1, u.id, u.project, u.title, u.created_at, u.last_active
     FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) WITH ORDINALITY
       AS u(id, project, title, created_at, last_active, n)
     ORDER BY u.n
     ON CONFLICT (tenant, id) DO UPDATE
       SET created_at = least(s.created_at, excluded.created_at),
           last_active = greatest(s.last_active, excluded.last_active),
           title = coalesce(s.title, excluded.title)
       WHERE s.created_at > excluded.created_at OR s.last_active < excluded.last_active OR (s.title IS NULL AND excluded.title IS NOT NULL)
     RETURNING (xmax = 0) AS inserted`,
    [
      tenant,
      sessions.map((s) => s.id),
      sessions.map((s) => s.project),
      sessions.map((s) => s.title),
      sessions.map((s) => s.created_at),
      sessions.map((s) => s.last_active),
    ],
  );
  return res.rows.filter((r) => r.inserted).length;
}

/** An imported memory with what Sage derives from its text. */
export interface ImportRow {
  id: string;
  project: string;
  session: string | null;
  kind: Kind;
  userText: string | null;
  content: string;
  tags: readonly string[];
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
  contentHash: Uint8Array;
  vector: Uint8Array;
  vectorKeys: Int32Array;
  /** The tsvector in PostgreSQL's binary format (store/lexemes.ts tsvectorBinary). */
  lexemes: Uint8Array;
}

export interface ImportOutcome {
  inserted: number;
  /** Rows whose id already exists in the tenant (imported before). */
  existing: number;
  /** Rows skipped because identical live content exists in the project under another id. */
  duplicates: number;
}

/**
 * Inserts a batch with one statement and a fixed 7 parameters however large the batch: the
 * texts as one JSON array (expanded by json_to_recordset), the binary columns — content
 * hashes, vectors, bucket keys — each as one binary parameter sliced per row by offsets, and
 * the lexemes as a binary tsvector[] zipped with the rows (ROWS FROM … unnest). Built
 * this way the parameters cost little CPU on either side: node-postgres escapes text[] and
 * bytea[] parameters element by element in JavaScript (as much CPU as deriving the rows), and
 * JSON.stringify of base64 vectors and key lists was nearly as slow. Rows that clash with an
 * existing id or with identical live content in the project are skipped by the unique
 * indexes, not by a racy prior SELECT. Sessions that the memories name but that do not exist
 * yet are created, as a save would.
 */
export async function insertImported(client: Client, tenant: string, vectorizerVersion: string, rows: readonly ImportRow[]): Promise<ImportOutcome> {
  if (rows.length === 0) return { inserted: 0, existing: 0, duplicates: 0 };
  const ids = rows.map((r) => r.id);
  let vectorOffset = 0;
  let keyOffset = 0;
  const json = JSON.stringify(
    rows.map((r) => {
      const row = {
        id: r.id,
        project: r.project,
        session_id: r.session,
        kind: r.kind,
        user_text: r.userText,
        content: r.content,
        tags: r.tags,
        metadata: r.metadata,
        created_at: r.createdAt,
        updated_at: r.updatedAt,
        deleted_at: r.deletedAt,
        voff: vectorOffset,
        vlen: r.vector.byteLength,
        koff: keyOffset,
        klen: r.vectorKeys.length,
      };
      vectorOffset += r.vector.byteLength;
      keyOffset += r.vectorKeys.length;
      return row;
    }),
  );
  const hashes = Buffer.concat(rows.map((r) => asBuffer(r.contentHash)));
  for (const r of rows) if (r.contentHash.byteLength !== CONTENT_HASH_BYTES) throw new Error(`content hash of ${r.id} is not ${CONTENT_HASH_BYTES} bytes`);
  const vectors = Buffer.concat(rows.map((r) => asBuffer(r.vector)));
  const keys = int4ArrayBinary(rows.map((r) => r.vectorKeys));
  const lexemes = binaryArray(TSVECTOR_OID, rows.map((r) => r.lexemes));
  // A generic plan: a custom plan would copy the batch's parameters (megabytes) into the plan
  // as constants, several times over, while planning a statement whose plan never depends on them.
  // GIN pending lists at PostgreSQL's default size while importing (Sage's sessions use 512 kB,
  // store/db.ts): a bulk load flushes fewer, larger lists, which costs less per memory.
  await client.query(`SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL gin_pending_list_limit = '4MB'`);
  const res = await client.query<{ id: string }>(
    `INSERT INTO memories (tenant, id, project, session_id, kind, user_text, content, tags, metadata, content_hash, vector, vector_keys,
                           lexemes, vectorizer_version, created_at, updated_at, deleted_at)
     SELECT $1, u.id, u.project, u.session_id, u.kind, u.user_text, u.content, u.tags, u.metadata,
            substring($4::bytea FROM (u.n - 1)::int * ${CONTENT_HASH_BYTES} + 1 FOR ${CONTENT_HASH_BYTES}),
            substring($5::bytea FROM u.voff + 1 FOR u.vlen), ($6::int4[])[u.koff + 1 : u.koff + u.klen],
            u.lexemes, $2, u.created_at, u.updated_at, u.deleted_at
     FROM ROWS FROM (json_to_recordset($3::json)
       AS (id uuid, project text, session_id text, kind text, user_text text, content text, tags text[], metadata jsonb,
           created_at timestamptz, updated_at timestamptz, deleted_at timestamptz, voff int, vlen int, koff int, klen int),
       unnest($7::tsvector[])) WITH ORDINALITY
       AS u(id, project, session_id, kind, user_text, content, tags, metadata, created_at, updated_at, deleted_at, voff, vlen, koff, klen, lexemes, n)
     ORDER BY u.n
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [tenant, vectorizerVersion, json, hashes, vectors, keys, lexemes],
  );
  const inserted = res.rowCount ?? 0;
  let existing = 0;
  if (inserted < rows.length) {
    // A row not inserted clashed either on its id (imported before, or repeated in this batch)
    // or on content; ids are lower-case UUIDs, as Postgres returns them.
    const insertedIds = new Set(res.rows.map((r) => r.id));
    const others = [...new Set(ids.filter((id) => !insertedIds.has(id)))];
    const found = others.length === 0 ? [] : (await client.query<{ id: string }>(`SELECT id FROM memories WHERE tenant = $1 AND id = ANY($2::uuid[])`, [tenant, others])).rows;
    const present = new Set(found.map((r) => r.id));
    const seen = new Set<string>();
    for (const id of ids) {
      if (insertedIds.has(id) && !seen.has(id)) seen.add(id);
      else if (insertedIds.has(id) || present.has(id)) existing++;
    }
  }
  const withSession = rows.filter((r) => r.session !== null);
  if (withSession.length > 0) {
    await client.query(
      `INSERT INTO sessions (tenant, id, project, title, created_at, last_active)
       SELECT $1, u.session_id, (array_agg(u.project ORDER BY u.created_at))[1], NULL, min(u.created_at), max(u.created_at)
       FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS u(session_id, project, created_at)
       GROUP BY u.session_id
       ORDER BY u.session_id -- one lock order for batches written at once
       ON CONFLICT (tenant, id) DO NOTHING`,
      [tenant, withSession.map((r) => r.session), withSession.map((r) => r.project), withSession.map((r) => r.createdAt)],
    );
  }
  return { inserted, existing, duplicates: rows.length - inserted - existing };
}

/** What reindex reads of a memory: the text its derived columns come from. */
export interface ReindexSource {
  id: string;
  kind: Kind;
  user_text: string | null;
  content: string;
  tags: string[];
}

/** How many memories (live or forgotten) reindex would touch. */
export async function countToReindex(client: Client, tenant: string, staleThan: string | undefined): Promise<number> {
  const res = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM memories WHERE tenant = $1 AND ($2::text IS NULL OR vectorizer_version <> $2)`,
    [tenant, staleThan ?? null],
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * The next page of memories to reindex after `afterId`, locked until the batch's transaction
 * ends, so that an edit arriving meanwhile waits instead of having its fresh vector overwritten
 * by one derived from the old text. `staleThan` undefined means every memory.
 */
export async function lockReindexPage(client: Client, tenant: string, staleThan: string | undefined, afterId: string | null, limit: number): Promise<ReindexSource[]> {
  const res = await client.query<ReindexSource>(
    `SELECT id, kind, user_text, content, tags FROM memories
     WHERE tenant = $1 AND ($2::uuid IS NULL OR id > $2::uuid) AND ($3::text IS NULL OR vectorizer_version <> $3)
     ORDER BY id
     LIMIT $4
     FOR UPDATE`,
    [tenant, afterId, staleThan ?? null, limit],
  );
  return res.rows;
}

export interface Rederived {
  id: string;
  vector: Uint8Array;
  vectorKeys: Int32Array;
  lexemes: string;
}

/** Writes recomputed vectors and lexemes. updated_at stays: the memory itself did not change. */
export async function writeRederived(client: Client, tenant: string, vectorizerVersion: string, rows: readonly Rederived[]): Promise<number> {
  if (rows.length === 0) return 0;
  const res = await client.query(
    `UPDATE memories m
     SET vector = u.vector, vector_keys = u.vector_keys::int4[], lexemes = u.lexemes::tsvector, vectorizer_version = $2
     FROM unnest($3::uuid[], $4::bytea[], $5::text[], $6::text[]) AS u(id, vector, vector_keys, lexemes)
     WHERE m.tenant = $1 AND m.id = u.id`,
    [tenant, vectorizerVersion, rows.map((r) => r.id), rows.map((r) => r.vector), rows.map((r) => `{${r.vectorKeys.join(',')}}`), rows.map((r) => r.lexemes)],
  );
  return res.rowCount ?? 0;
}
