/**
 * Errors that PostgreSQL gives for reasons outside Sage — a login it refuses, a database that is
 * not there, a read-only server, a statement timeout or an administrator's cancel, no connection
 * slot left — reach the caller as Sage errors whose message says what to fix (describeDatabaseError,
 * store/db.ts), not as "Sage hit an internal error" or "not reachable". Each is made for real on
 * the test cluster; the pool goes on working afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { ConfigError, UnavailableError } from '../../src/errors.ts';
import { setLogLevel } from '../../src/log.ts';
import { Database } from '../../src/store/db.ts';
import { adminQuery, createTestDatabase, urlAs, withClient } from '../helpers/postgres.ts';

setLogLevel('error');

function expectError<E extends Error>(kind: new (...args: never[]) => E, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof kind, `expected ${kind.name}, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

test('a role PostgreSQL does not know, and a database that does not exist, are configuration errors that name the setting', async (t) => {
  const database = await createTestDatabase(t);
  const stranger = new Database({ url: urlAs(database.url, 'no_such_role'), max: 1 });
  t.after(() => stranger.close());
  await assert.rejects(stranger.ready(), expectError(ConfigError, /^PostgreSQL refused Sage's login \(28000\): fix the user or password in DATABASE_URL/));
  await assert.rejects(stranger.ping(), expectError(ConfigError, /refused Sage's login \(28000\)/));
  assert.doesNotMatch(String((await stranger.ping().catch((err: unknown) => err)) as Error), /no_such_role/, 'the message does not name the user');

  const missing = new URL(database.url);
  missing.pathname = `/${database.name}_missing`;
  const nowhere = new Database({ url: missing.href, max: 1 });
  t.after(() => nowhere.close());
  await assert.rejects(nowhere.ready(), expectError(ConfigError, /^the database named in DATABASE_URL does not exist \(3D000\)/));
});

test('a read-only server refuses writes with a message that points at the primary; reads go on, and writes work once it takes them again', async (t) => {
  const database = await createTestDatabase(t);
  const setup = new Database({ url: database.url, max: 1 });
  await setup.ready();
  await setup.close();
  const ident = pg.escapeIdentifier(database.name);
  await adminQuery(`ALTER DATABASE ${ident} SET default_transaction_read_only = on`);

  const db = new Database({ url: database.url, max: 2 });
  t.after(() => db.close());
  await assert.rejects(
    db.tx('local', (c) => c.query(`INSERT INTO sessions (tenant, id, project) VALUES ('local', 's1', 'p')`)),
    expectError(UnavailableError, /^PostgreSQL takes no writes on this connection \(25006\).*point DATABASE_URL at the primary$/),
  );
  const read = await db.tx('local', (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions'));
  assert.equal(read.rows[0]!.n, 0, 'reads still work, and nothing was written');

  await withClient(database.url, async (c) => {
    await c.query('SET default_transaction_read_only = off');
    await c.query(`ALTER DATABASE ${ident} RESET default_transaction_read_only`);
  });
  const fresh = new Database({ url: database.url, max: 1 });
  t.after(() => fresh.close());
  await fresh.tx('local', (c) => c.query(`INSERT INTO sessions (tenant, id, project) VALUES ('local', 's1', 'p')`));
});

test('a statement timeout and an administrator’s cancel are told apart, and the connection is reused', async (t) => {
  const database = await createTestDatabase(t);
  const db = new Database({ url: database.url, max: 1, statementTimeoutMs: 200 });
  t.after(() => db.close());
  await db.ready();
  await assert.rejects(
    db.tx('local', (c) => c.query('SELECT pg_sleep(2)')),
    expectError(UnavailableError, /^the database did not finish this within the statement timeout \(57014\).*SAGE_DB_STATEMENT_TIMEOUT_MS$/),
  );

  const patient = new Database({ url: database.url, max: 1 });
  t.after(() => patient.close());
  const sleeping = patient.tx('local', async (c) => {
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const cancel = withClient(database.url, async (admin) => {
      // Wait until the sleep is running, then cancel it.
      for (let i = 0; i < 100; i++) {
        const active = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep(5)%' AND state = 'active'`, [pid]);
        if (active.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await admin.query('SELECT pg_cancel_backend($1)', [pid]);
    });
    try {
      return await c.query('SELECT pg_sleep(5)');
    } finally {
      await cancel;
    }
  });
  await assert.rejects(sleeping, expectError(UnavailableError, /^PostgreSQL cancelled the statement \(57014/));
  // Neither error broke a connection: the pools of one answer on.
  assert.equal((await db.tx('local', (c) => c.query<{ one: number }>('SELECT 1 AS one'))).rows[0]!.one, 1);
  assert.equal((await patient.tx('local', (c) => c.query<{ one: number }>('SELECT 1 AS one'))).rows[0]!.one, 1);
});

test('no free connection slot on the server (53300) says so, not that PostgreSQL is unreachable', async (t) => {
  const database = await createTestDatabase(t);
  const setup = new Database({ url: database.url, max: 1 });
  await setup.ready();
  await setup.close();
  const role = `sage_limited_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0 IN ROLE sage_runtime`);
  t.after(() => adminQuery(`DROP ROLE IF EXISTS ${role}`));
  const db = new Database({ url: urlAs(database.url, role), max: 1 });
  t.after(() => db.close());
  await assert.rejects(
    db.tx('local', (c) => c.query('SELECT 1')),
    expectError(UnavailableError, /^PostgreSQL has no free connection slot \(53300: too many clients\).*lower SAGE_DB_POOL_MAX$/),
  );
});
