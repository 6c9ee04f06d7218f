/**
 * Export, import and reindex against real PostgreSQL: a lossless round trip into a fresh
 * database, idempotent imports, a bad line stopping the import with nothing garbage stored,
 * reindex after a dimension change, and tenant scoping.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setLogLevel } from '../../src/log.ts';
import { MemoryService, type Caller } from '../../src/memory/service.ts';
import { exportJsonl, headerLine, ImportError, importJsonl, reindex, type ExportOptions, type TransferContext } from '../../src/memory/transfer.ts';
import { Database } from '../../src/store/db.ts';
import { fromStored, isStoredPacked, toSparse } from '../../src/memory/packed-vector.ts';
import { encodeVector } from '../../src/vectorize/index.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

setLogLevel('warn');

const DIMENSION = 2 ** 20;

async function freshDb(t: { after(fn: () => unknown): void }): Promise<Database> {
  const database = await createTestDatabase();
  const db = new Database({ url: database.url, max: 4 });
  // The pool closes before the database is dropped (a forced drop would kill its connections).
  t.after(async () => {
    await db.close();
    await database.drop();
  });
  await db.ready();
  return db;
}

async function exportText(ctx: TransferContext, options: ExportOptions = {}): Promise<string> {
  let out = '';
  await exportJsonl(ctx, async (text) => void (out += text), options);
  return out;
}

function withoutExportedAt(text: string): string {
  const [header, ...rest] = text.split('\n');
  const parsed = JSON.parse(header!) as Record<string, unknown>;
  assert.equal(typeof parsed.exported_at, 'string');
  delete parsed.exported_at;
  return [JSON.stringify(parsed), ...rest].join('\n');
}

function lines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Feeds text to import in small chunks, so that lines and multi-byte characters straddle chunk boundaries. */
async function* chunks(text: string, size = 777): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Every stored column of every row, in a stable order, as text. */
async function dump(db: Database): Promise<{ memories: unknown[]; sessions: unknown[] }> {
  const memories = await db.pool.query(
    `SELECT tenant, id, project, session_id, kind, user_text, content, tags, metadata::text, encode(content_hash, 'hex') AS hash,
            encode(vector, 'hex') AS vector, vector_keys, lexemes::text, vectorizer_version,
            created_at::text, updated_at::text, deleted_at::text
     FROM memories ORDER BY tenant, id`,
  );
  const sessions = await db.pool.query(`SELECT tenant, id, project, title, created_at::text, last_active::text FROM sessions ORDER BY tenant, id`);
  return { memories: memories.rows, sessions: sessions.rows };
}

/** A varied corpus: every kind, sessions, tags, metadata, unicode, history, an edit and a forget. */
async function seed(service: MemoryService, caller: Caller): Promise<{ forgotten: string; edited: string }> {
  await service.createSession(caller, { id: 'sess-1', title: 'Refactoring the parser 🛠️' });
  await service.save(caller, {
    kind: 'turn',
    userText: 'How do we parse dates?',
    content: 'We use Temporal.PlainDate and reject two-digit years.',
    session: 'sess-1',
    tags: ['Parser', 'dates'],
    metadata: { file: 'src/parse.ts', line: 42, nested: { ok: true, list: [1, 'two', null] } },
  });
  await service.save(caller, { kind: 'fact', content: '数据库连接池的大小是二十。', tags: ['数据库'], metadata: { lang: 'zh' } });
  await service.save(caller, { kind: 'note', content: 'Deploy on Fridays? 🚫🚀 Never — café naïve façade', session: 'sess-2' });
  await service.save(caller, { kind: 'agent_report', content: 'Report: 3 flaky tests fixed in\r\nCI\twith\u2028separators "quoted" \\ back', project: 'other' });
  await service.save(caller, {
    kind: 'turn',
    userText: '',
    content: 'Historic answer from last year',
    createdAt: new Date('2024-02-29T23:59:59.123Z'),
    session: 'old-session',
  });
  const edited = await service.save(caller, { kind: 'note', content: 'The cache TTL is 30 seconds', tags: ['cache'] });
  await service.update(caller, { id: edited.id, content: 'The cache TTL is 60 seconds', metadata: { reviewed: true } });
  const forgotten = await service.save(caller, { kind: 'note', content: 'The staging password rotates weekly' });
  await service.forget(caller, { ids: [forgotten.id] });
  return { forgotten: forgotten.id, edited: edited.id };
}

test('export → import into a fresh database → export is lossless (ids, timestamps, sessions, tags, metadata, unicode, forgotten rows)', async (t) => {
  const source = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  const service = new MemoryService(source, { dimension: DIMENSION });
  const { forgotten, edited } = await seed(service, caller);
  const ctx = { db: source, tenant: 'local', dimension: DIMENSION };

  const first = await exportText(ctx, { includeDeleted: true });
  const records = lines(first);
  assert.deepEqual(
    records.map((r) => r.type),
    ['sage-export', 'session', 'session', 'session', 'memory', 'memory', 'memory', 'memory', 'memory', 'memory', 'memory'],
  );
  const header = records[0]!;
  assert.equal(header.version, 1);
  assert.equal(header.tenant, 'local');
  assert.equal(header.include_deleted, true);
  assert.match(String(header.vectorizer_version), /^hv\d+-/);
  const byId = new Map(records.filter((r) => r.type === 'memory').map((r) => [r.id, r]));
  assert.ok(byId.get(forgotten)?.deleted_at, 'the forgotten memory is exported with its deleted_at');
  const edit = byId.get(edited)!;
  assert.equal(edit.content, 'The cache TTL is 60 seconds');
  assert.notEqual(edit.updated_at, edit.created_at);
  // Timestamps keep PostgreSQL's microseconds (a JS Date would round them to milliseconds).
  for (const r of records.slice(1)) for (const key of ['created_at', 'updated_at', 'last_active']) if (r[key] !== undefined) assert.match(String(r[key]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(
    records.some((r) => r.type === 'memory' && !String(r.created_at).endsWith('000Z')),
    'some timestamp from now() has sub-millisecond digits',
  );
  assert.ok(first.includes('数据库连接池的大小是二十。') && first.includes('🚫🚀'));

  const target = await freshDb(t);
  const summary = await importJsonl({ db: target, tenant: 'local', dimension: DIMENSION }, chunks(first));
  assert.equal(summary.memories, 7);
  assert.equal(summary.imported, 7);
  assert.equal(summary.duplicates, 0);
  assert.equal(summary.skipped, 0);
  assert.equal(summary.sessions, 3);
  assert.equal(summary.sessionsCreated, 3);

  const second = await exportText({ db: target, tenant: 'local', dimension: DIMENSION }, { includeDeleted: true });
  assert.equal(withoutExportedAt(second), withoutExportedAt(first));
  // Byte-identical rows, derived columns included: the same vectorizer derives the same vectors.
  assert.deepEqual(await dump(target), await dump(source));

  // The imported copy answers searches like the original.
  const copy = new MemoryService(target, { dimension: DIMENSION });
  const hits = await copy.search(caller, { query: '数据库连接池' });
  assert.equal(hits.results[0]?.content, '数据库连接池的大小是二十。');
  await assert.rejects(copy.get(caller, forgotten), /no memory/);
  const session = await copy.session(caller, 'sess-1');
  assert.equal(session.title, 'Refactoring the parser 🛠️');
  assert.equal(session.memory_count, 1);
});

test('by default an export leaves forgotten memories out; --project narrows it to one project and its sessions', async (t) => {
  const db = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  const { forgotten } = await seed(new MemoryService(db, { dimension: DIMENSION }), caller);
  const ctx = { db, tenant: 'local', dimension: DIMENSION };

  const all = lines(await exportText(ctx));
  assert.equal(all[0]!.include_deleted, false);
  assert.equal(all.filter((r) => r.type === 'memory').length, 6);
  assert.ok(!all.some((r) => r.id === forgotten));
  assert.ok(!JSON.stringify(all).includes('staging password'));

  const other = lines(await exportText(ctx, { project: 'other' }));
  assert.equal(other[0]!.project, 'other');
  assert.deepEqual(
    other.filter((r) => r.type === 'memory').map((r) => r.project),
    ['other'],
  );
  assert.equal(other.filter((r) => r.type === 'session').length, 0);
  const demo = lines(await exportText(ctx, { project: 'demo' }));
  assert.deepEqual(demo.filter((r) => r.type === 'session').map((r) => r.id).sort(), ['old-session', 'sess-1', 'sess-2']);
  assert.equal(lines(await exportText(ctx, { project: 'nothing-here' })).length, 1);
});

test('importing the same export twice stores nothing twice; same content under another id counts as a duplicate', async (t) => {
  const source = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  await seed(new MemoryService(source, { dimension: DIMENSION }), caller);
  const text = await exportText({ db: source, tenant: 'local', dimension: DIMENSION }, { includeDeleted: true });

  const target = await freshDb(t);
  const ctx = { db: target, tenant: 'local', dimension: DIMENSION };
  const first = await importJsonl(ctx, chunks(text));
  const before = await dump(target);
  const again = await importJsonl(ctx, chunks(text));
  assert.equal(again.imported, 0);
  assert.equal(again.skipped, 7);
  assert.equal(again.duplicates, 0);
  assert.equal(again.sessionsCreated, 0);
  assert.equal(first.imported, 7);
  assert.deepEqual(await dump(target), before, 'a second import changes no row, sessions included');

  // The same texts under new ids: live ones are duplicates; a forgotten one does not block anything.
  const renamed = text.replace(/"id":"[0-9a-f-]{36}"/g, () => `"id":"${crypto.randomUUID()}"`);
  const third = await importJsonl(ctx, chunks(renamed));
  assert.equal(third.duplicates, 6);
  assert.equal(third.imported, 1, 'only the forgotten memory is new (forgotten rows do not hold their content)');
  const live = await target.pool.query(`SELECT count(*)::int AS n FROM memories WHERE deleted_at IS NULL`);
  assert.equal(live.rows[0].n, 6);

  // Repeats inside one batch: the first wins, the repeat is counted, not stored.
  const memoryLine = text.split('\n').find((l) => l.includes('"type":"memory"') && l.includes('Temporal'))!;
  const repeated = JSON.parse(memoryLine) as Record<string, unknown>;
  const fresh = await freshDb(t);
  const header = text.split('\n')[0]!;
  const batch = [header, memoryLine, memoryLine, JSON.stringify({ ...repeated, id: crypto.randomUUID() })].join('\n');
  const s = await importJsonl({ db: fresh, tenant: 'local', dimension: DIMENSION }, chunks(batch));
  assert.deepEqual({ imported: s.imported, skipped: s.skipped, duplicates: s.duplicates }, { imported: 1, skipped: 1, duplicates: 1 });
});

test('a bad line stops the import with its line number; lines before it are stored, nothing after; the fixed file completes it', async (t) => {
  const source = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  const service = new MemoryService(source, { dimension: DIMENSION });
  for (let i = 0; i < 30; i++) await service.save(caller, { kind: 'note', content: `Note number ${i} about the build pipeline`, session: 'bulk' });
  const text = await exportText({ db: source, tenant: 'local', dimension: DIMENSION });
  const good = text.split('\n');
  assert.equal(good.length, 33); // header, one session, 30 memories, trailing newline

  const target = await freshDb(t);
  const ctx = { db: target, tenant: 'local', dimension: DIMENSION };
  const cases: Array<{ line: number; replace: (l: string) => string; message: RegExp }> = [
    { line: 12, replace: (l) => l.slice(0, 40), message: /^line 12: not valid JSON/ },
    { line: 12, replace: (l) => l.replace(/"content":"[^"]*"/, '"content":42'), message: /^line 12: field "content": Invalid input: expected string, received number/ },
    { line: 12, replace: (l) => l.replace(/"id":"[^"]*"/, '"id":"not-a-uuid"'), message: /^line 12: field "id": must be a UUID/ },
    { line: 12, replace: (l) => l.replace(/"created_at":"[^"]*"/, '"created_at":"yesterday"'), message: /^line 12: field "created_at": must be an ISO 8601 date-time/ },
    { line: 12, replace: (l) => l.replace('"type":"memory"', '"type":"memory","colour":"red"'), message: /^line 12: Unrecognized key: "colour"/ },
    { line: 12, replace: (l) => l.replace('"kind":"note"', '"kind":"note","user_prompt":"why?"').replace(',"user_prompt":null', ''), message: /^line 12: field "user_prompt": a note has no user_prompt/ },
    { line: 12, replace: (l) => l.replace(/"content":"[^"]*"/, '"content":"bad \\u0000 byte"'), message: /^line 12: field "content": contains U\+0000/ },
    { line: 12, replace: () => '{"type":"widget"}', message: /^line 12: field "type": expected "session" or "memory", got "widget"/ },
  ];
  for (const c of cases) {
    const broken = good.map((l, i) => (i === c.line - 1 ? c.replace(l) : l)).join('\n');
    const err = await importJsonl(ctx, chunks(broken)).then(
      () => assert.fail('import should stop at the bad line'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ImportError, String(err));
    assert.match(err.message, c.message);
    assert.equal(err.line, c.line);
    // Lines 3..11 are the memories before the bad line: stored; nothing from the bad line on.
    const stored = await target.pool.query<{ content: string }>(`SELECT content FROM memories ORDER BY id`);
    const expected = good.slice(2, c.line - 1).map((l) => (JSON.parse(l) as { content: string }).content).sort();
    assert.deepEqual(stored.rows.map((r) => r.content).sort(), expected);
    assert.equal(err.summary.memories, c.line - 3);
  }

  // Fixed: the same import completes; the earlier lines are skipped, nothing is stored twice.
  const done = await importJsonl(ctx, chunks(text));
  assert.equal(done.imported, 21);
  assert.equal(done.skipped, 9);
  const n = await target.pool.query(`SELECT count(*)::int AS n FROM memories`);
  assert.equal(n.rows[0].n, 30);
});

test('a large import (batches written at once) counts duplicates across batches once; a bad line after several batches keeps every line before it', async (t) => {
  const target = await freshDb(t);
  const ctx = { db: target, tenant: 'local', dimension: DIMENSION };
  const header = JSON.stringify(headerLine(ctx, { project: undefined, includeDeleted: false }));
  // Even memories from the third batch on repeat the content of one 1,000 lines earlier: some
  // in the batch being written at the same moment, some in one committed before.
  const contentOf = (i: number) => `Memory ${i >= 2000 && i % 2 === 0 ? i - 1000 : i} about the deploy pipeline`;
  const memoryLines = Array.from({ length: 3500 }, (_, i) =>
    JSON.stringify({ type: 'memory', id: crypto.randomUUID(), project: 'bulk', session: `s${i % 7}`, kind: 'note', content: contentOf(i), created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString() }),
  );
  const distinct = (n: number) => new Set(Array.from({ length: n }, (_, i) => contentOf(i))).size;
  const count = async () => (await target.pool.query(`SELECT count(*)::int AS n FROM memories`)).rows[0].n as number;

  // Line 3,200 of the file (memory 3,199) is bad: the 3,198 memories before it are stored, nothing after.
  const broken = [header, ...memoryLines.slice(0, 3198), '{"type":"memory"', ...memoryLines.slice(3199)].join('\n');
  await assert.rejects(importJsonl(ctx, chunks(broken, 65_536)), (err: unknown) => err instanceof ImportError && err.line === 3200);
  assert.equal(await count(), distinct(3198));

  const full = await importJsonl(ctx, chunks([header, ...memoryLines].join('\n'), 65_536));
  assert.equal(await count(), distinct(3500));
  assert.equal(full.skipped + full.imported + full.duplicates, 3500);
  assert.equal(full.imported, distinct(3500) - distinct(3198));
  const sessions = await target.pool.query(`SELECT count(*)::int AS n FROM sessions`);
  assert.equal(sessions.rows[0].n, 7);
});

test('what is not a Sage export is refused before anything is written', async (t) => {
  const db = await freshDb(t);
  const ctx = { db, tenant: 'local', dimension: DIMENSION };
  const header = JSON.stringify({ type: 'sage-export', version: 1, sage_version: '0.1.0', vectorizer_version: 'x', tenant: 'a', exported_at: '2025-01-01T00:00:00Z' });
  const memory = JSON.stringify({ type: 'memory', id: crypto.randomUUID(), project: 'p', kind: 'note', content: 'hello', created_at: '2025-01-01T00:00:00Z' });
  const cases: Array<[string, RegExp]> = [
    ['', /input is empty/],
    [memory, /: line 1: not a Sage export header/],
    ['{"not json', /: line 1: not a Sage export/],
    [header.replace('"version":1', '"version":2') + '\n' + memory, /: line 1: export format version 2 is not supported .* newer Sage/],
    [`${header}\n${header}\n${memory}`, /: line 2: a second export header/],
  ];
  for (const [text, message] of cases) await assert.rejects(importJsonl(ctx, chunks(text)), message);
  // Invalid UTF-8 on line 2.
  const bad = Buffer.concat([Buffer.from(header + '\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]);
  await assert.rejects(importJsonl(ctx, [bad]), /: line 2: not valid UTF-8/);
  const n = await db.pool.query(`SELECT count(*)::int AS n FROM memories`);
  assert.equal(n.rows[0].n, 0);

  // A minimal hand-written export is fine: optional fields default, CRLF and a BOM are accepted,
  // and a session named only by a memory is created.
  const minimal = `\uFEFF${header}\r\n${memory.replace('"kind"', '"session":"s-1","kind"')}\r\n\r\n`;
  const s = await importJsonl(ctx, chunks(minimal, 5));
  assert.equal(s.imported, 1);
  const session = await db.pool.query(`SELECT project, created_at = '2025-01-01T00:00:00Z' AS at FROM sessions WHERE id = 's-1'`);
  assert.deepEqual(session.rows, [{ project: 'p', at: true }]);
  const dry = await importJsonl({ db: undefined, tenant: 'local', dimension: DIMENSION }, chunks(minimal), { dryRun: true });
  assert.equal(dry.memories, 1);
  assert.equal(dry.imported, 0);
});

test('reindex after a dimension change leaves no stale vectors and search still finds things', async (t) => {
  const db = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  await seed(new MemoryService(db, { dimension: DIMENSION }), caller);
  const small = new MemoryService(db, { dimension: 2 ** 12 });
  const before = await small.status(caller);
  assert.equal(before.counts?.stale_vectors, 7, 'all seven memories (one forgotten) were derived with 2^20 buckets');

  const progress: number[] = [];
  const summary = await reindex({ db, tenant: 'local', dimension: 2 ** 12 }, { onProgress: (p) => progress.push(p.reindexed) });
  assert.equal(summary.total, 7);
  assert.equal(summary.reindexed, 7);
  assert.equal(progress.at(-1), 7);
  const after = await small.status(caller);
  assert.equal(after.counts?.stale_vectors, 0);
  assert.equal(after.counts?.memories, 6);
  const hits = await small.search(caller, { query: 'how are dates parsed' });
  assert.match(hits.results[0]?.content ?? '', /Temporal\.PlainDate/);
  const versions = await db.pool.query(`SELECT DISTINCT vectorizer_version FROM memories`);
  assert.deepEqual(versions.rows, [{ vectorizer_version: small.vectorizerVersion }]);

  // Idempotent; --all recomputes everything again without changing a byte.
  const snapshot = await dump(db);
  assert.equal((await reindex({ db, tenant: 'local', dimension: 2 ** 12 })).total, 0);
  const all = await reindex({ db, tenant: 'local', dimension: 2 ** 12 }, { all: true });
  assert.equal(all.reindexed, 7);
  assert.deepEqual(await dump(db), snapshot);
});

test('memories stored in vectorize\'s encoding (before the packed layout) rank and match the same; reindex --all stores them packed', async (t) => {
  const db = await freshDb(t);
  const caller: Caller = { tenant: 'local', project: 'demo' };
  await seed(new MemoryService(db, { dimension: DIMENSION }), caller);
  const storedForms = async () => (await db.pool.query<{ vector: Buffer }>(`SELECT vector FROM memories`)).rows.map((r) => isStoredPacked(r.vector));
  assert.ok((await storedForms()).every(Boolean), 'saves store the packed layout');
  const queries = ['how are dates parsed', '数据库连接池', 'cache TTL seconds', 'Fridays deploy'];
  // Each through a fresh service (an empty vector cache): a corpus ranked whole, and the quick
  // ranking, which reads every candidate's vector in its candidate query.
  const rankings = async () => {
    const service = new MemoryService(db, { dimension: DIMENSION });
    const out: unknown[] = [];
    for (const query of queries) {
      out.push((await service.search(caller, { query })).results.map((r) => [r.id, r.score, r.why]));
      out.push((await service.context(caller, { query }, { quick: true })).ids);
    }
    return out;
  };
  const packed = await rankings();
  assert.ok(packed.every((r) => Array.isArray(r) && r.length > 0), 'every query finds something both ways');

  const rows = (await db.pool.query<{ id: string; vector: Buffer }>(`SELECT id, vector FROM memories`)).rows;
  for (const r of rows) {
    const plain = encodeVector(toSparse(fromStored(r.vector)));
    await db.pool.query(`UPDATE memories SET vector = $2 WHERE id = $1`, [r.id, Buffer.from(plain)]);
  }
  assert.ok((await storedForms()).every((p) => !p), 'every row now in the old encoding');
  assert.deepEqual(await rankings(), packed);
  const near = await new MemoryService(db, { dimension: DIMENSION }).save(caller, { kind: 'note', content: 'The cache TTL is 60 seconds!', tags: ['cache'] });
  assert.equal(near.near_duplicates.length, 1, 'an old row is still compared as a near-duplicate');
  assert.ok(near.near_duplicates[0]!.similarity >= 0.92);

  const summary = await reindex({ db, tenant: 'local', dimension: DIMENSION }, { all: true });
  assert.equal(summary.reindexed, rows.length + 1);
  assert.ok((await storedForms()).every(Boolean), 'reindex --all rewrote them packed');
  await new MemoryService(db, { dimension: DIMENSION }).forget(caller, { ids: [near.id] });
  assert.deepEqual(await rankings(), packed);
});

test('an export holds only the configured tenant; an import writes only into its own', async (t) => {
  const db = await freshDb(t);
  const service = new MemoryService(db, { dimension: DIMENSION });
  await service.save({ tenant: 'a', project: 'shared' }, { kind: 'note', content: 'Alpha team uses trunk-based development', session: 'same-name' });
  await service.save({ tenant: 'b', project: 'shared' }, { kind: 'note', content: 'Bravo team secret roadmap', session: 'same-name' });
  const b = await service.save({ tenant: 'b', project: 'shared' }, { kind: 'fact', content: 'Alpha team uses trunk-based development' });

  const text = await exportText({ db, tenant: 'a', dimension: DIMENSION }, { includeDeleted: true });
  assert.ok(!text.includes('Bravo'));
  assert.ok(!text.includes(b.id));
  assert.equal(lines(text).filter((r) => r.type === 'memory').length, 1);
  assert.equal(lines(text)[0]!.tenant, 'a');

  // Into tenant c of the same database: tenant b's identical content is no duplicate there.
  const s = await importJsonl({ db, tenant: 'c', dimension: DIMENSION }, chunks(text));
  assert.equal(s.imported, 1);
  const rows = await db.pool.query(`SELECT tenant, count(*)::int AS n FROM memories GROUP BY tenant ORDER BY tenant`);
  assert.deepEqual(rows.rows, [
    { tenant: 'a', n: 1 },
    { tenant: 'b', n: 2 },
    { tenant: 'c', n: 1 },
  ]);
  // Reindex of tenant a touches nothing of b.
  const r = await reindex({ db, tenant: 'a', dimension: 2 ** 12 });
  assert.equal(r.reindexed, 1);
  const stale = await db.pool.query(`SELECT tenant FROM memories WHERE vectorizer_version <> $1 ORDER BY tenant`, [new MemoryService(db, { dimension: DIMENSION }).vectorizerVersion]);
  assert.deepEqual(stale.rows, [{ tenant: 'a' }]);
});

test('an export from an unreachable database writes nothing, not even the header', async () => {
  const db = new Database({ url: 'postgres://postgres@127.0.0.1:1/none', max: 1 });
  try {
    let out = '';
    await assert.rejects(
      exportJsonl({ db, tenant: 'local', dimension: DIMENSION }, async (text) => void (out += text)),
      /PostgreSQL is not reachable/,
    );
    assert.equal(out, '');
  } finally {
    await db.close();
  }
});
