import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Database } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.ts';

/** A database plus things to close before it is dropped (in reverse order of registration). */
async function scratch(t: { after(fn: () => unknown): void }): Promise<{ database: TestDatabase; closeLater(fn: () => Promise<unknown>): void }> {
  const database = await createTestDatabase();
  const closers: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await database.drop();
  });
  return { database, closeLater: (fn) => closers.push(fn) };
}

async function connect(url: string, closeLater: (fn: () => Promise<unknown>) => void): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  closeLater(() => client.end());
  return client;
}

test('migrations apply once, in order, even when several processes start together', async (t) => {
  const { database, closeLater } = await scratch(t);
  const dbs = Array.from({ length: 4 }, () => new Database({ url: database.url, max: 2 }));
  closeLater(() => Promise.all(dbs.map((d) => d.close())));
  const reports = await Promise.all(dbs.map((d) => d.ready()));
  const applied = reports.flatMap((r) => r.applied);
  assert.deepEqual(applied.sort(), MIGRATIONS.map((m) => m.version).sort(), 'each migration applied by exactly one process');
  for (const r of reports) assert.equal(r.current, MIGRATIONS.at(-1)!.version);

  const client = await connect(database.url, closeLater);
  const rows = await client.query<{ version: number }>('SELECT version FROM sage_migrations ORDER BY version');
  assert.deepEqual(rows.rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));

  // A second start applies nothing.
  const again = new Database({ url: database.url, max: 1 });
  closeLater(() => again.close());
  assert.deepEqual((await again.ready()).applied, []);

  // An up-to-date database is checked without the migration lock (every hook process checks it):
  // a start completes while another session holds the lock.
  const holder = await connect(database.url, closeLater);
  await holder.query('SELECT pg_advisory_lock(1935763301)');
  const third = new Database({ url: database.url, max: 1 });
  closeLater(() => third.close());
  assert.deepEqual(await third.ready(), { applied: [], current: MIGRATIONS.at(-1)!.version, latestKnown: MIGRATIONS.at(-1)!.version });
  await holder.query('SELECT pg_advisory_unlock(1935763301)');
});

test('every table and b-tree index of Sage is keyed by tenant first; no extension is used', async (t) => {
  const { database, closeLater } = await scratch(t);
  const db = new Database({ url: database.url, max: 1 });
  closeLater(() => db.close());
  await db.ready();
  const client = await connect(database.url, closeLater);
  const indexes = await client.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('memories', 'sessions')`,
  );
  assert.ok(indexes.rows.length >= 8);
  for (const { indexname, indexdef } of indexes.rows) {
    if (/USING gin/.test(indexdef)) continue; // GIN cannot lead with a scalar column without btree_gin
    assert.match(indexdef, /USING btree \(tenant,/, `${indexname} leads with tenant: ${indexdef}`);
  }
  const ext = await client.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'`);
  assert.deepEqual(ext.rows, []);
});

test('a failed migration leaves no half schema and is retried on the next call', async (t) => {
  const { database, closeLater } = await scratch(t);
  const { migrate } = await import('../../src/store/migrate.ts');
  const pool = new pg.Pool({ connectionString: database.url, max: 1 });
  closeLater(() => pool.end());
  const broken = [{ version: 1, name: 'half', sql: 'CREATE TABLE half_a (x int); CREATE TABLE half_b (y nosuchtype);' }];
  await assert.rejects(migrate(pool, broken), /migration 1 \(half\) failed: type "nosuchtype" does not exist/);
  const tables = await pool.query(`SELECT to_regclass('half_a') AS a`);
  assert.equal(tables.rows[0].a, null, 'the transaction rolled back');
  const fixed = [{ version: 1, name: 'whole', sql: 'CREATE TABLE half_a (x int);' }];
  assert.deepEqual((await migrate(pool, fixed)).applied, [1]);
});
