import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { adminQuery, createTestDatabase, getCluster, withClient } from '../helpers/postgres.ts';
import { makeTempDir } from '../helpers/tmp.ts';

test('cluster is PostgreSQL 15 on 127.0.0.1, a free port (never 5432), UTF8', async () => {
  const cluster = await getCluster();
  assert.equal(cluster.host, '127.0.0.1');
  assert.notEqual(cluster.port, 5432);
  assert.ok(cluster.port > 0 && cluster.port < 65536);
  assert.ok(existsSync(cluster.dataDir));
  assert.equal(cluster.superuserUrl, `postgres://postgres@127.0.0.1:${cluster.port}/postgres`);
  const { rows } = await adminQuery(
    "SELECT current_setting('server_version_num')::int AS v, current_setting('server_encoding') AS enc, current_user AS u",
  );
  assert.ok(rows[0].v >= 150000 && rows[0].v < 160000, `server_version_num ${rows[0].v}`);
  assert.equal(rows[0].enc, 'UTF8');
  assert.equal(rows[0].u, 'postgres');
  assert.strictEqual(await getCluster(), cluster, 'one cluster per process');
});

test('a query works on a fresh, empty database', async (t) => {
  const db = await createTestDatabase(t);
  assert.match(db.name, /^[a-z0-9_]+$/);
  assert.equal(db.url, `postgres://postgres@127.0.0.1:${db.cluster.port}/${db.name}`);
  await withClient(db.url, async (c) => {
    const { rows } = await c.query('SELECT current_database() AS name, 1 + 1 AS two');
    assert.deepEqual(rows[0], { name: db.name, two: 2 });
    const tables = await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    assert.equal(tables.rows[0].n, 0);
  });
});

test('two databases are isolated', async (t) => {
  const [a, b] = await Promise.all([createTestDatabase(t), createTestDatabase(t)]);
  assert.notEqual(a.name, b.name);
  assert.equal(a.cluster, b.cluster);
  await withClient(a.url, (c) => c.query("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('only in a')"));
  await withClient(b.url, async (c) => {
    const { rows } = await c.query("SELECT to_regclass('public.notes') AS t");
    assert.equal(rows[0].t, null);
  });
  const { rows } = await withClient(a.url, (c) => c.query('SELECT body FROM notes'));
  assert.deepEqual(rows, [{ body: 'only in a' }]);
});

test('databases are dropped after the test (t.after) and by drop()', async (t) => {
  let name = '';
  await t.test('inner', async (t2) => {
    name = (await createTestDatabase(t2)).name;
    const { rowCount } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    assert.equal(rowCount, 1);
  });
  const after = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  assert.equal(after.rowCount, 0, 'dropped after the subtest');

  const db = await createTestDatabase();
  // drop works even while a client is still connected (WITH (FORCE))
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => {});
  await client.connect();
  await db.drop();
  await db.drop(); // idempotent
  await client.end().catch(() => {});
  const gone = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
  assert.equal(gone.rowCount, 0);
});

test('restart() keeps data and the port; new connections work after it', async (t) => {
  const db = await createTestDatabase(t);
  const port = db.cluster.port;
  await withClient(db.url, (c) => c.query("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"));

  // a connection open across the restart is broken by it
  const stale = new pg.Client({ connectionString: db.url });
  const staleErrors: unknown[] = [];
  stale.on('error', (e) => staleErrors.push(e));
  await stale.connect();

  await db.cluster.restart();
  assert.equal(db.cluster.port, port);
  await assert.rejects(stale.query('SELECT 1'));
  await stale.end().catch(() => {});

  const { rows } = await withClient(db.url, (c) => c.query('SELECT v FROM kept'));
  assert.deepEqual(rows, [{ v: 42 }]);

  // crash-style restart: committed data survives recovery
  await withClient(db.url, (c) => c.query('INSERT INTO kept VALUES (43)'));
  await db.cluster.restart('immediate');
  const again = await withClient(db.url, (c) => c.query('SELECT v FROM kept ORDER BY v'));
  assert.deepEqual(again.rows, [{ v: 42 }, { v: 43 }]);
});

test('stop() then start(): connections fail while stopped, work again after', async (t) => {
  const db = await createTestDatabase(t);
  await withClient(db.url, (c) => c.query('CREATE TABLE s (v int); INSERT INTO s VALUES (1)'));
  await db.cluster.stop('immediate');
  await db.cluster.stop(); // no-op when already stopped
  await assert.rejects(withClient(db.url, (c) => c.query('SELECT 1')), /ECONNREFUSED|connect/);
  await db.cluster.start();
  await db.cluster.start(); // no-op when running
  const { rows } = await withClient(db.url, (c) => c.query('SELECT v FROM s'));
  assert.deepEqual(rows, [{ v: 1 }]);
});

test('many databases can be created concurrently', async (t) => {
  const dbs = await Promise.all(Array.from({ length: 6 }, () => createTestDatabase(t)));
  assert.equal(new Set(dbs.map((d) => d.name)).size, 6);
  for (const db of dbs) {
    const { rows } = await withClient(db.url, (c) => c.query('SELECT current_database() AS n'));
    assert.equal(rows[0].n, db.name);
  }
});

test('makeTempDir creates a dir removed after the test', async (t) => {
  let dir = '';
  await t.test('inner', (t2) => {
    dir = makeTempDir(t2);
    assert.ok(existsSync(dir));
  });
  assert.equal(existsSync(dir), false);
});
