/**
 * GIN pending lists are flushed in the background after writes (store/pending-lists.ts,
 * migration 007), so no save merges a list inline. Checked against the real indexes: what the
 * flusher merged is counted by gin_clean_pending_list itself, and afterwards a superuser's call
 * finds nothing left to merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { setLogLevel } from '../../src/log.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { PendingListFlusher } from '../../src/store/pending-lists.ts';
import { adminQuery, createTestDatabase, urlAs, withClient, type TestDatabase } from '../helpers/postgres.ts';

setLogLevel('error');

const caller = { tenant: 'local', project: 'demo' };

/** Pages still pending, per GIN index of memories: merges them (as the superuser) to count them. */
async function pendingPages(database: TestDatabase): Promise<Record<string, number>> {
  return withClient(database.url, async (c) => {
    const rows = await c.query<{ name: string; pages: number }>(
      `SELECT c.relname AS name, gin_clean_pending_list(i.indexrelid)::int AS pages
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
       WHERE i.indrelid = 'memories'::regclass AND a.amname = 'gin' ORDER BY 1`,
    );
    return Object.fromEntries(rows.rows.map((r) => [r.name, r.pages]));
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A turn long enough to put a few hundred keys into each index's pending list. */
function turn(i: number): { kind: 'turn'; userText: string; content: string; tags: string[] } {
  const words = Array.from({ length: 120 }, (_, k) => `word${(i * 131 + k * 17) % 997}x${k % 13}`).join(' ');
  return { kind: 'turn', userText: `question ${i} about migrations`, content: `answer ${i}: ${words}`, tags: [`t${i}`] };
}

test('a few writes are flushed once, in the pause after them; then nothing is left to merge', async (t) => {
  const database = await createTestDatabase();
  const delayMs = 1_000;
  const db = new Database({ url: database.url, max: 3, pendingLists: { delayMs } });
  t.after(() => db.close().finally(() => database.drop()));
  await db.ready();
  const service = new MemoryService(db, { dimension: 2 ** 20 });

  // Saves back to back: each one puts the flush off. (A save slower than the delay on a loaded
  // machine would make a pause of its own: counted, so the check holds either way.)
  let pauses = 0;
  let last = performance.now();
  for (const i of [1, 2, 3]) {
    await service.save(caller, turn(i));
    const now = performance.now();
    if (i > 1 && now - last >= delayMs) pauses++;
    last = now;
  }
  // A duplicate writes nothing and counts for nothing.
  assert.equal((await service.save(caller, turn(2))).duplicate, true);
  assert.equal(db.pendingLists.stats.flushes, pauses, 'no flush while the writes come');
  await until('the flush after the pause', () => db.pendingLists.stats.flushes === pauses + 1);
  await new Promise((r) => setTimeout(r, delayMs + 300));
  assert.equal(db.pendingLists.stats.flushes, pauses + 1, 'one flush for the burst');
  assert.ok(db.pendingLists.stats.pages > 0, `the flush merged pending pages (${db.pendingLists.stats.pages})`);
  assert.equal(db.pendingLists.stats.failures, 0);
  assert.equal(db.pendingLists.stats.bursts, 0);
  const left = await pendingPages(database);
  assert.deepEqual(Object.keys(left), ['memories_scoped_lexemes', 'memories_scoped_vector_keys', 'memories_tags']);
  assert.ok(Object.values(left).every((pages) => pages === 0), `nothing left to merge: ${JSON.stringify(left)}`);
  // What was flushed is found, by its words.
  assert.equal((await service.search(caller, { query: 'answer 3 word393x0' })).results[0]?.content.startsWith('answer 3:'), true);
});

test('in a burst (more than maxWrites in windowMs) pauses are let go by; a write after the window is flushed with what the burst left', async (t) => {
  const database = await createTestDatabase();
  const delayMs = 1_000;
  const windowMs = 2_500;
  const db = new Database({ url: database.url, max: 3, pendingLists: { delayMs, maxWrites: 2, windowMs } });
  t.after(() => db.close().finally(() => database.drop()));
  await db.ready();
  const service = new MemoryService(db, { dimension: 2 ** 20 });
  let pauses = 0;
  let last = performance.now();
  for (const i of [1, 2, 3, 4]) {
    await service.save(caller, turn(i));
    const now = performance.now();
    if (i > 1 && now - last >= delayMs) pauses++;
    last = now;
  }
  await until('the pause after the burst', () => db.pendingLists.stats.bursts + db.pendingLists.stats.flushes > pauses);
  if (pauses === 0) {
    assert.deepEqual(db.pendingLists.stats, { flushes: 0, pages: 0, failures: 0, bursts: 1 }, 'four writes in a row: a burst, no flush');
    assert.ok(Object.values(await pendingPages(database)).some((pages) => pages > 0), "the burst's entries wait in the lists");
    // pendingPages merged them; a new burst to leave something behind, then one write after it.
    for (const i of [5, 6, 7]) await service.save(caller, turn(i));
    await until('the pause after the second burst', () => db.pendingLists.stats.bursts + db.pendingLists.stats.flushes >= 2);
  }
  // Once the burst is older than the window, a write is flushed again, with what the burst left.
  await new Promise((r) => setTimeout(r, windowMs));
  const flushesBefore = db.pendingLists.stats.flushes;
  await service.save(caller, turn(8));
  await until('the flush after one write', () => db.pendingLists.stats.flushes === flushesBefore + 1);
  assert.ok(Object.values(await pendingPages(database)).every((pages) => pages === 0), 'the flush took what the burst left too');
});

test('a single write is flushed `delayMs` after it; an update counts as a write; close drops a flush not yet started', async (t) => {
  const database = await createTestDatabase();
  const db = new Database({ url: database.url, max: 3, pendingLists: { delayMs: 150 } });
  t.after(() => db.close().finally(() => database.drop()));
  await db.ready();
  const service = new MemoryService(db, { dimension: 2 ** 20 });
  const saved = await service.save(caller, turn(1));
  await until('the delayed flush', () => db.pendingLists.stats.flushes === 1);
  assert.ok(db.pendingLists.stats.pages > 0);

  await service.update(caller, { id: saved.id, content: `${turn(9).content} rewritten` });
  await until('the flush after the update', () => db.pendingLists.stats.flushes === 2);
  assert.ok(Object.values(await pendingPages(database)).every((pages) => pages === 0));

  await service.save(caller, turn(2));
  await db.pendingLists.close();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(db.pendingLists.stats.flushes, 2, 'closed before the delay passed: the flush was dropped');
  assert.ok((await pendingPages(database))['memories_scoped_vector_keys']! > 0, 'so the last save still waits in the list');
});

test('the flush function is for sage_runtime only; a role that may not use it turns the flusher off with one warning, saves unaffected', async (t) => {
  const database = await createTestDatabase();
  const suffix = Math.random().toString(36).slice(2, 8);
  const app = `sage_app_${suffix}`;
  const stranger = `stranger_${suffix}`;
  await adminQuery(`CREATE ROLE ${app} LOGIN`);
  await adminQuery(`CREATE ROLE ${stranger} LOGIN`);
  const closers: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await database.drop();
    for (const r of [app, stranger]) await adminQuery(`DROP ROLE IF EXISTS ${r}`);
  });
  const admin = new Database({ url: database.url, max: 1 });
  await admin.ready();
  await admin.close();
  await adminQuery(`GRANT sage_runtime TO ${app}`);

  // A login role that owns nothing, member of sage_runtime: its saves are flushed by its own process.
  const appDb = new Database({ url: urlAs(database.url, app), max: 2, pendingLists: { delayMs: 10 } });
  closers.push(() => appDb.close());
  await new MemoryService(appDb, { dimension: 2 ** 20 }).save(caller, turn(1));
  await until('the app role flush', () => appDb.pendingLists.stats.flushes === 1);
  assert.ok(appDb.pendingLists.stats.pages > 0);

  // Anyone else may not call it (EXECUTE is revoked from PUBLIC).
  await withClient(urlAs(database.url, stranger), async (c) => {
    await assert.rejects(c.query('SELECT sage_flush_pending_lists()'), /permission denied for function sage_flush_pending_lists/);
  });
  const pool = new pg.Pool({ connectionString: urlAs(database.url, stranger), max: 1 });
  pool.on('error', () => undefined);
  closers.push(() => pool.end());
  const refused = new PendingListFlusher(pool, { delayMs: 10 });
  refused.noteWrite();
  await until('the refused flush', () => refused.stats.failures === 1);
  refused.noteWrite();
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(refused.stats, { flushes: 0, pages: 0, failures: 1, bursts: 0 }, 'turned off after a refusal: no retry per write');
  await refused.close();

  // The grant taken away under a running Sage: its flusher stops, its saves go on (and flush inline).
  await withClient(database.url, (c) => c.query('REVOKE EXECUTE ON FUNCTION sage_flush_pending_lists() FROM sage_runtime'));
  const ungranted = new Database({ url: urlAs(database.url, app), max: 2, pendingLists: { delayMs: 10 } });
  closers.push(() => ungranted.close());
  const service = new MemoryService(ungranted, { dimension: 2 ** 20 });
  const saved = await service.save(caller, turn(2));
  await until('the refused flush', () => ungranted.pendingLists.stats.failures === 1);
  const again = await service.save(caller, turn(3));
  assert.equal(again.duplicate, false);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(ungranted.pendingLists.stats, { flushes: 0, pages: 0, failures: 1, bursts: 0 });
  const found = await service.search(caller, { query: 'answer 2 word262x0' });
  assert.equal(found.results[0]?.id, saved.id);
});

test('a flush whose connection is cut (its backend terminated while it waits) is survived: counted as failed, the next one works', async (t) => {
  const database = await createTestDatabase();
  const db = new Database({ url: database.url, max: 3, pendingLists: { delayMs: 10 } });
  const admin = new pg.Client({ connectionString: database.url });
  admin.on('error', () => undefined);
  t.after(async () => {
    await admin.end().catch(() => undefined);
    await db.close();
    await database.drop();
  });
  await db.ready();
  await admin.connect();
  const service = new MemoryService(db, { dimension: 2 ** 20 });
  await service.save(caller, turn(1));
  await until('the first flush', () => db.pendingLists.stats.flushes === 1);
  await service.save(caller, turn(2));
  // Hold the tags index so that the next flush waits for it, then cut that flush's connection.
  await admin.query('BEGIN');
  await admin.query('REINDEX INDEX memories_tags'); // holds an ACCESS EXCLUSIVE lock on it until ROLLBACK
  db.pendingLists.noteWrite();
  let pid: number | undefined;
  const deadline = Date.now() + 10_000;
  while (pid === undefined && Date.now() < deadline) {
    // From a connection of its own: inside the admin's transaction pg_stat_activity is a snapshot.
    const rows = await withClient(database.url, (c) => c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%sage_flush_pending_lists%'`));
    pid = rows.rows[0]?.pid;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pid !== undefined, 'the flush waits on the held index');
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await until('the failed flush', () => db.pendingLists.stats.failures === 1);
  await admin.query('ROLLBACK');
  // The process lives on, and so do saves and flushes.
  await service.save(caller, turn(3));
  // The flush that failed is tried again once the lock is gone, and turn 3 gets its own: wait for
  // both to be done (counting for exactly two flushes raced the third).
  await until('the flushes after the cut', () => db.pendingLists.stats.flushes >= 2 && !db.pendingLists.busy);
  assert.ok(Object.values(await pendingPages(database)).every((pages) => pages === 0));
});

