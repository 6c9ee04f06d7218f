/**
 * Export, import and reindex: moving a tenant's memories in and out of Sage as JSONL, and
 * recomputing what Sage derives from them after a vectorizer change.
 *
 * The format (version 1), one JSON object per line:
 *   {"type":"sage-export","version":1,"sage_version":…,"vectorizer_version":…,"tenant":…,"exported_at":…,…}
 *   {"type":"session","id":…,"project":…,"title":…,"created_at":…,"last_active":…}        (all sessions first)
 *   {"type":"memory","id":…,"project":…,"session":…,"kind":…,"user_prompt":…,"content":…,
 *    "tags":[…],"metadata":{…},"created_at":…,"updated_at":…,"deleted_at":…}
 * Timestamps are UTC with microseconds, PostgreSQL's own precision, so nothing is rounded.
 * Vectors, lexemes and hashes are not exported: they are derived, and import derives them
 * again with the importing Sage's vectorizer.
 *
 * Memory stays constant however large the data: export reads pages in one snapshot, import
 * writes batches as it reads, reindex walks the table in pages, each in its own transaction.
 */
import * as z from 'zod';
import { InputError } from '../errors.ts';
import type { Database } from '../store/db.ts';
import {
  countToReindex,
  insertImported,
  lockReindexPage,
  memoriesPage,
  restoreSessions,
  sessionsPage,
  writeRederived,
  type ExportedMemory,
  type ExportedSession,
  type ExportFilter,
  type ImportRow,
  type Rederived,
} from '../store/transfer.ts';
import { vectorizerVersion } from '../vectorize/index.ts';
import { SAGE_VERSION } from '../version.ts';
import { derive, deriveForImport } from './derive.ts';
import { KindSchema } from './model.ts';
import { cleanMetadata, cleanName, cleanTags, isBlank, MAX_TEXT_CHARS } from './text.ts';

export const EXPORT_TYPE = 'sage-export';
export const EXPORT_VERSION = 1;

/** Rows per page or batch: large enough to amortise round trips, small enough for short transactions. */
const EXPORT_PAGE = 1000;
/**
 * A batch's statement carries ~10 KB per memory (vector, bucket keys, lexemes, texts), which
 * node-postgres copies into a message buffer it grows by half again each time it is full: at
 * 1,000 memories that meant ~10 MB messages, re-copied and freshly allocated per batch. At 250
 * Sage's import CPU per memory was 8–10% lower (10k, 4 interleaved rounds) and PostgreSQL's
 * the same; the extra commits are hidden by the writers working at once.
 */
const IMPORT_BATCH = 250;
/**
 * Batches written at once, each on its own connection, while the next is parsed and derived:
 * PostgreSQL's side of a batch (index inserts, above all GIN) costs more CPU than Sage's, so
 * with one writer a second core sat idle whenever Sage waited for it.
 */
const IMPORT_WRITERS = 2;
const DEADLOCK_DETECTED = '40P01';
const REINDEX_BATCH = 500;
/** A memory line is at most ~2.5 MB (two texts of 200,000 characters, escaped); more is not a Sage line. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** What the transfer functions need: the database, whose data, and the vectorizer setting. */
export interface TransferContext {
  db: Database;
  tenant: string;
  dimension: number;
}

// ---------------------------------------------------------------------------------------------
// Line schemas

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ISO 8601 date-time with an explicit zone, at most microseconds (what PostgreSQL keeps). */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

const timestamp = z
  .string()
  .regex(TIMESTAMP, 'must be an ISO 8601 date-time with a time zone and at most microseconds, such as 2025-03-01T14:00:00.000000Z')
  .refine((s) => !Number.isNaN(Date.parse(s.replace(' ', 'T'))), 'is not a valid date-time');

/** Runs one of Sage's cleaning functions inside a schema, turning its InputError into an issue. */
function cleaned<I, O>(clean: (value: I) => O) {
  return (value: I, ctx: z.RefinementCtx): O => {
    try {
      return clean(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  };
}

/** Text PostgreSQL can store, within Sage's limit. A Sage export never holds anything else. */
function storableText(field: string, max = MAX_TEXT_CHARS) {
  return z
    .string()
    .max(max, `is longer than ${max} characters, the limit Sage keeps`)
    .refine((s) => !s.includes('\u0000'), `contains U+0000, which PostgreSQL cannot store (${field})`)
    .refine((s) => s.isWellFormed(), `contains a lone surrogate, which UTF-8 cannot encode (${field})`);
}

const name = (field: string) => z.string().transform(cleaned((v: string) => cleanName(field, v)));

export const HeaderLineSchema = z.looseObject({
  type: z.literal(EXPORT_TYPE),
  version: z.number().int(),
  sage_version: z.string(),
  vectorizer_version: z.string(),
  tenant: z.string(),
  exported_at: z.string(),
  project: z.string().nullable().optional(),
  include_deleted: z.boolean().optional(),
});
export type HeaderLine = z.infer<typeof HeaderLineSchema>;

export const SessionLineSchema = z.strictObject({
  type: z.literal('session'),
  id: name('session id'),
  project: name('project'),
  title: storableText('title', 500).nullable().default(null),
  created_at: timestamp,
  last_active: timestamp,
});
export type SessionLine = z.infer<typeof SessionLineSchema>;

export const MemoryLineSchema = z
  .strictObject({
    type: z.literal('memory'),
    id: z
      .string()
      .regex(UUID, 'must be a UUID')
      .transform((s) => s.toLowerCase()),
    project: name('project'),
    session: name('session').nullable().default(null),
    kind: KindSchema,
    user_prompt: storableText('user_prompt').nullable().default(null),
    content: storableText('content'),
    tags: z.array(z.string()).default([]).transform(cleaned((v: string[]) => cleanTags(v))),
    metadata: z
      .record(z.string(), z.unknown())
      .default({})
      .transform(cleaned((v: Record<string, unknown>) => cleanMetadata(v))),
    created_at: timestamp,
    updated_at: timestamp.optional(),
    deleted_at: timestamp.nullable().default(null),
  })
  // The same rules as a save, so an import cannot store what Sage itself would refuse.
  .transform((m, ctx) => {
    const userPrompt = isBlank(m.user_prompt) ? null : m.user_prompt;
    if (m.kind !== 'turn' && userPrompt !== null) ctx.addIssue({ code: 'custom', path: ['user_prompt'], message: `a ${m.kind} has no user_prompt; put everything in content` });
    if (isBlank(m.content) && (m.kind !== 'turn' || userPrompt === null)) ctx.addIssue({ code: 'custom', path: ['content'], message: 'is empty: there is nothing to remember' });
    return { ...m, user_prompt: userPrompt, updated_at: m.updated_at ?? m.created_at };
  });
export type MemoryLine = z.infer<typeof MemoryLineSchema>;

// ---------------------------------------------------------------------------------------------
// Export

export interface ExportOptions {
  /** Only this project; undefined exports every project of the tenant. */
  project?: string | undefined;
  /** Include forgotten (soft-deleted) memories. */
  includeDeleted?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: ExportSummary) => void) | undefined;
}

export interface ExportSummary {
  sessions: number;
  memories: number;
  deleted: number;
}

export function headerLine(ctx: TransferContext, options: { project: string | undefined; includeDeleted: boolean }, exportedAt = new Date()): HeaderLine {
  return {
    type: EXPORT_TYPE,
    version: EXPORT_VERSION,
    sage_version: SAGE_VERSION,
    vectorizer_version: vectorizerVersion({ dimension: ctx.dimension }),
    tenant: ctx.tenant,
    exported_at: exportedAt.toISOString(),
    project: options.project ?? null,
    include_deleted: options.includeDeleted,
  };
}

function sessionLine(s: ExportedSession): string {
  return JSON.stringify({ type: 'session', id: s.id, project: s.project, title: s.title, created_at: s.created_at, last_active: s.last_active });
}

function memoryLine(m: ExportedMemory): string {
  return JSON.stringify({
    type: 'memory',
    id: m.id,
    project: m.project,
    session: m.session,
    kind: m.kind,
    user_prompt: m.user_prompt,
    content: m.content,
    tags: m.tags,
    metadata: m.metadata,
    created_at: m.created_at,
    updated_at: m.updated_at,
    deleted_at: m.deleted_at,
  });
}

/**
 * Writes the tenant's sessions and memories as JSONL through `write` (which should wait for
 * the destination to drain). Everything comes from one snapshot of the database.
 */
export async function exportJsonl(ctx: TransferContext, write: (text: string) => Promise<void>, options: ExportOptions = {}): Promise<ExportSummary> {
  const project = options.project !== undefined ? cleanName('project', options.project) : undefined;
  const filter: ExportFilter = { tenant: ctx.tenant, project, includeDeleted: options.includeDeleted ?? false };
  const summary: ExportSummary = { sessions: 0, memories: 0, deleted: 0 };
  await ctx.db.tx(ctx.tenant, async (client) => {
    // Inside the snapshot: if the database cannot be reached, not even the header is written.
    await write(JSON.stringify(headerLine(ctx, { project, includeDeleted: filter.includeDeleted })) + '\n');
    let after: string | null = null;
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await sessionsPage(client, filter, after, EXPORT_PAGE);
      if (page.length === 0) break;
      await write(page.map(sessionLine).join('\n') + '\n');
      summary.sessions += page.length;
      after = page[page.length - 1]!.id;
      options.onProgress?.(summary);
      if (page.length < EXPORT_PAGE) break;
    }
    after = null;
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await memoriesPage(client, filter, after, EXPORT_PAGE);
      if (page.length === 0) break;
      await write(page.map(memoryLine).join('\n') + '\n');
      summary.memories += page.length;
      summary.deleted += page.filter((m) => m.deleted_at !== null).length;
      after = page[page.length - 1]!.id;
      options.onProgress?.(summary);
      if (page.length < EXPORT_PAGE) break;
    }
  }, { snapshot: true });
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Reading JSONL

/** Bytes to read: a stream (stdin, a file) or, in tests and benchmarks, any iterable of chunks. */
export type Chunks = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  text: string;
  /** Bytes of input consumed up to the end of this line. */
  offset: number;
}

/**
 * Splits a byte stream into lines (LF or CRLF), decoding each as strict UTF-8. A line that is
 * not UTF-8 or longer than any Sage line could be is an error naming its number, raised
 * before anything of that line is used.
 */
export async function* readLines(input: Chunks, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Buffer[] = [];
  let partBytes = 0;
  let number = 0;
  let offset = 0;
  const emit = (bytes: Buffer): Line => {
    number++;
    offset += bytes.length + 1;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(0, end));
    } catch {
      throw new InputError(`line ${number}: not valid UTF-8 (a Sage export is UTF-8 JSON lines)`);
    }
    // A byte-order mark some editors add is dropped from the first line.
    return { number, text: number === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, offset };
  };
  for await (const chunk of input) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      const head = buf.subarray(0, nl);
      const line = parts.length === 0 ? head : Buffer.concat([...parts, head]);
      parts = [];
      partBytes = 0;
      if (line.length > maxLineBytes) throw new InputError(`line ${number + 1}: longer than ${maxLineBytes} bytes; this is not a Sage export line`);
      yield emit(line);
      buf = buf.subarray(nl + 1);
    }
    if (buf.length > 0) {
      // Copy: the stream may reuse the chunk's memory for the next read.
      parts.push(Buffer.from(buf));
      partBytes += buf.length;
      if (partBytes > maxLineBytes) throw new InputError(`line ${number + 1}: longer than ${maxLineBytes} bytes; this is not a Sage export line`);
    }
  }
  if (partBytes > 0) yield emit(Buffer.concat(parts));
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `field "${path}": ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** A line that is not JSON or does not fit its schema. */
export class ImportLineError extends InputError {
  readonly line: number;
  constructor(line: number, detail: string) {
    super(`line ${line}: ${detail}`);
    this.line = line;
  }
}

type Record_ = { kind: 'session'; value: SessionLine } | { kind: 'memory'; value: MemoryLine };

/** Parses and validates one non-header line. */
export function parseLine(line: Line): Record_ {
  let json: unknown;
  try {
    json = JSON.parse(line.text);
  } catch (err) {
    throw new ImportLineError(line.number, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ImportLineError(line.number, 'expected a JSON object');
  const type = (json as { type?: unknown }).type;
  if (type === 'memory') {
    const parsed = MemoryLineSchema.safeParse(json);
    if (!parsed.success) throw new ImportLineError(line.number, describeIssues(parsed.error));
    return { kind: 'memory', value: parsed.data };
  }
  if (type === 'session') {
    const parsed = SessionLineSchema.safeParse(json);
    if (!parsed.success) throw new ImportLineError(line.number, describeIssues(parsed.error));
    return { kind: 'session', value: parsed.data };
  }
  if (type === EXPORT_TYPE) throw new ImportLineError(line.number, 'a second export header: concatenated exports must be imported one at a time');
  throw new ImportLineError(line.number, `field "type": expected "session" or "memory", got ${JSON.stringify(type) ?? 'nothing'}`);
}

function parseHeader(line: Line | undefined): HeaderLine {
  if (!line) throw new InputError('the input is empty: expected a Sage export (JSONL starting with a "sage-export" header line)');
  let json: unknown;
  try {
    json = JSON.parse(line.text);
  } catch {
    throw new ImportLineError(line.number, 'not a Sage export: the first line must be the JSON header {"type":"sage-export",…}');
  }
  const parsed = HeaderLineSchema.safeParse(json);
  if (!parsed.success) {
    throw new ImportLineError(line.number, `not a Sage export header (${describeIssues(parsed.error)}); the first line must be {"type":"sage-export","version":1,…}`);
  }
  if (parsed.data.version !== EXPORT_VERSION) {
    throw new ImportLineError(
      line.number,
      `export format version ${parsed.data.version} is not supported (this Sage ${SAGE_VERSION} reads version ${EXPORT_VERSION}); ` +
        (parsed.data.version > EXPORT_VERSION ? 'import it with a newer Sage' : 'export it again with this Sage'),
    );
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Import

/** A dry run needs no database. */
export type ImportContext = Omit<TransferContext, 'db'> & { db: Database | undefined };

export interface ImportOptions {
  /** Validate every line and count, but write nothing. */
  dryRun?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Called after each committed batch (and once at the end). */
  onProgress?: ((summary: ImportSummary) => void) | undefined;
}

export interface ImportSummary {
  /** The export's header, once read. */
  header: HeaderLine | null;
  /** Lines read so far (header included), and bytes consumed. */
  lines: number;
  bytes: number;
  /** Memory lines read and validated. */
  memories: number;
  /** Newly stored memories. */
  imported: number;
  /** Skipped: identical live content already in the project under another id. */
  duplicates: number;
  /** Skipped: a memory with this id already exists (imported before). */
  skipped: number;
  /** Session lines read, and sessions newly created from them. */
  sessions: number;
  sessionsCreated: number;
}

/** Import stopped early; `summary` tells what was stored before it stopped. */
export class ImportError extends InputError {
  readonly summary: ImportSummary;
  readonly line: number | undefined;
  constructor(message: string, summary: ImportSummary, line?: number) {
    super(message);
    this.summary = summary;
    this.line = line;
  }
}

function toImportRow(m: MemoryLine, dimension: number): ImportRow {
  const derived = deriveForImport(m.kind, m.user_prompt, m.content, m.tags, { dimension });
  return {
    id: m.id,
    project: m.project,
    session: m.session,
    kind: m.kind,
    userText: m.user_prompt,
    content: m.content,
    tags: m.tags,
    metadata: m.metadata,
    createdAt: m.created_at,
    updatedAt: m.updated_at,
    deletedAt: m.deleted_at,
    contentHash: derived.contentHash,
    vector: derived.vector,
    vectorKeys: derived.vectorKeys,
    lexemes: derived.lexemes,
  };
}

/**
 * One batch in its own transaction: sessions first (a memory naming a session that is not
 * stored yet creates it), then the memories. Two batches written at once can deadlock on the
 * unique indexes (the same new content in both, in opposite orders); PostgreSQL then aborts
 * one, which rolls back whole and is written again — import is idempotent.
 */
async function writeBatch(db: Database, tenant: string, version: string, sessions: readonly ExportedSession[], memories: readonly ImportRow[]) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.tx(tenant, async (client) => {
        const created = await restoreSessions(client, tenant, sessions);
        const outcome = await insertImported(client, tenant, version, memories);
        return { created, outcome };
      });
    } catch (err) {
      if ((err as { code?: unknown }).code !== DEADLOCK_DETECTED || attempt >= 3) throw err;
    }
  }
}

/**
 * Reads a Sage export and stores it in the context's tenant, keeping ids and timestamps and
 * deriving vectors, lexemes and hashes anew. Idempotent: a memory whose id exists is skipped,
 * and so is one whose content already lives in its project.
 *
 * Each batch is validated completely before it is written, in its own transaction. At the
 * first bad line the batches before it are committed (the valid lines before it included),
 * nothing of the bad line or after it is written, and ImportError names the line. Fixing the
 * line and importing the same file again completes the import without storing anything twice.
 * While batches are being written (IMPORT_WRITERS at once) the next one is parsed and derived.
 */
export async function importJsonl(ctx: ImportContext, input: Chunks, options: ImportOptions = {}): Promise<ImportSummary> {
  const summary: ImportSummary = { header: null, lines: 0, bytes: 0, memories: 0, imported: 0, duplicates: 0, skipped: 0, sessions: 0, sessionsCreated: 0 };
  const version = vectorizerVersion({ dimension: ctx.dimension });
  const report = () => options.onProgress?.({ ...summary });

  let sessions: ExportedSession[] = [];
  let memories: ImportRow[] = [];
  /** Records read since the last flush (a dry run keeps none of them). */
  let batched = 0;
  /** Batches being written, at most IMPORT_WRITERS. */
  const inFlight = new Set<Promise<void>>();
  let writeError: unknown;
  const settled = async () => {
    await Promise.all(inFlight);
  };

  const flush = async () => {
    while (inFlight.size >= IMPORT_WRITERS) await Promise.race(inFlight);
    if (writeError !== undefined) throw writeError;
    if (batched === 0) return;
    const batchSessions = sessions;
    const batchMemories = memories;
    sessions = [];
    memories = [];
    batched = 0;
    const db = ctx.db;
    if (options.dryRun) return report();
    if (!db) throw new Error('importJsonl needs a database unless dryRun is set');
    const write = writeBatch(db, ctx.tenant, version, batchSessions, batchMemories).then(
      ({ created, outcome }) => {
        summary.sessionsCreated += created;
        summary.imported += outcome.inserted;
        summary.skipped += outcome.existing;
        summary.duplicates += outcome.duplicates;
        report();
      },
      // Kept and rethrown at the next flush: a rejection nobody awaits yet would crash the process.
      (err: unknown) => {
        writeError ??= err;
      },
    );
    const tracked = write.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };
  const finish = async () => {
    await flush();
    await settled();
    if (writeError !== undefined) throw writeError;
  };

  try {
    for await (const line of readLines(input)) {
      summary.lines = line.number;
      summary.bytes = line.offset;
      if (summary.header === null) {
        summary.header = parseHeader(line);
        continue;
      }
      if (line.text.trim().length === 0) continue;
      const record = parseLine(line);
      if (record.kind === 'session') {
        const s = record.value;
        summary.sessions++;
        if (!options.dryRun) sessions.push({ id: s.id, project: s.project, title: s.title, created_at: s.created_at, last_active: s.last_active });
      } else {
        summary.memories++;
        if (!options.dryRun) memories.push(toImportRow(record.value, ctx.dimension));
      }
      if (++batched >= IMPORT_BATCH) {
        await flush();
        options.signal?.throwIfAborted();
      }
    }
    if (summary.header === null) parseHeader(undefined);
    await finish();
  } catch (err) {
    if (writeError !== undefined) {
      // The database failed: what was committed before stays; report that error.
      await settled();
      throw writeError;
    }
    // Bad input or an interrupt: store the valid lines read before it, then stop.
    await finish();
    if (options.signal?.aborted) throw new ImportError(`interrupted after line ${summary.lines}`, { ...summary });
    if (err instanceof InputError) throw new ImportError(err.message, { ...summary }, err instanceof ImportLineError ? err.line : undefined);
    throw err;
  }
  report();
  return summary;
}

// ---------------------------------------------------------------------------------------------
// Reindex

export interface ReindexOptions {
  /** Recompute every memory, not only those derived by another vectorizer version. */
  all?: boolean | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: ReindexSummary) => void) | undefined;
}

export interface ReindexSummary {
  vectorizer_version: string;
  /** Memories to reindex when the run started. */
  total: number;
  reindexed: number;
}

/**
 * Recomputes vectors and lexemes (forgotten memories included, so that stale_vectors reaches
 * zero) with the current vectorizer. Safe beside a running server: each batch is its own
 * short transaction that locks only its rows; pages follow the primary key. Idempotent: a run
 * after a complete run finds nothing to do (unless --all).
 */
export async function reindex(ctx: TransferContext, options: ReindexOptions = {}): Promise<ReindexSummary> {
  const version = vectorizerVersion({ dimension: ctx.dimension });
  const staleThan = options.all ? undefined : version;
  const total = await ctx.db.tx(ctx.tenant, (client) => countToReindex(client, ctx.tenant, staleThan), { readOnly: true });
  const summary: ReindexSummary = { vectorizer_version: version, total, reindexed: 0 };
  options.onProgress?.({ ...summary });
  let after: string | null = null;
  for (;;) {
    options.signal?.throwIfAborted();
    const done: { count: number; last: string | null; full: boolean } = await ctx.db.tx(ctx.tenant, async (client) => {
      const page = await lockReindexPage(client, ctx.tenant, staleThan, after, REINDEX_BATCH);
      const rows: Rederived[] = page.map((m) => {
        const d = derive(m.kind, m.user_text, m.content, m.tags, { dimension: ctx.dimension });
        return { id: m.id, vector: d.vector, vectorKeys: d.vectorKeys, lexemes: d.lexemes };
      });
      const count = await writeRederived(client, ctx.tenant, version, rows);
      return { count, last: page.length > 0 ? page[page.length - 1]!.id : null, full: page.length === REINDEX_BATCH };
    });
    summary.reindexed += done.count;
    options.onProgress?.({ ...summary });
    if (!done.full || done.last === null) break;
    after = done.last;
  }
  return summary;
}
