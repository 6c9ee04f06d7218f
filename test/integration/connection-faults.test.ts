/**
 * A connection that PostgreSQL cuts while Sage holds it for a transaction (a restart, an
 * administrator's pg_terminate_backend, a failover) is survived: the transaction fails as
 * unavailable, the connection is dropped instead of going back to the pool, and the next
 * transaction works. The cut is made between two statements, when no query is in flight: then
 * the driver reports it as an 'error' event on the client, which pg-pool does not listen for
 * while the client is checked out — unhandled, that event would end the process. The same for
 * the migrations' connection, which waits idle between attempts when a migration raced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { UnavailableError } from '../../src/errors.ts';
import { setLogLevel } from '../../src/log.ts';
import { Database } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { createTestDatabase, withClient } from '../helpers/postgres.ts';

setLogLevel('error');

/** Resolves when the client's connection has ended (the driver emits 'end' after 'error'). */
function ended(client: { once(event: 'end', listener: () => void): unknown }, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the connection did not end')), timeoutMs);
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

for (const kind of ['tx', 'rankThenRead'] as const) {
  test(`${kind}: a connection cut between statements fails the transaction as unavailable, is dropped, and the next transaction works`, async (t) => {
    const database = await createTestDatabase(t);
    const db = new Database({ url: database.url, max: 2 });
    t.after(() => db.close());
    await db.ready();

    let cutPid: number | undefined;
    const work = async (client: Parameters<Parameters<Database['tx']>[1]>[0]) => {
      const own = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      cutPid = own.rows[0]!.pid;
      const gone = ended(client);
      await withClient(database.url, (c) => c.query('SELECT pg_terminate_backend($1)', [cutPid]));
      await gone; // the 'error' event has been emitted by now, with no statement running
      return client.query('SELECT 1');
    };
    const attempt = kind === 'tx' ? db.tx('local', work) : db.rankThenRead('local', ({ client }) => work(client));
    await assert.rejects(attempt, (err: unknown) => {
      assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${String(err)}`);
      assert.match(err.message, /PostgreSQL is not reachable/);
      return true;
    });

    // The cut connection was destroyed, not pooled: the next transaction gets a live one.
    assert.equal(db.pool.totalCount, 0);
    const again = await db.tx('local', (client) => client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    assert.notEqual(again.rows[0]!.pid, cutPid);
    assert.equal(db.pool.totalCount, 1);
    assert.equal(db.pool.idleCount, 1);
  });
}

test('migrate: a connection cut while a raced migration waits to retry fails the migration and leaves the pool working', async (t) => {
  const database = await createTestDatabase(t);
  const pool = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'sage-migrate-fault' });
  pool.on('error', () => undefined); // an idle client's loss, as Database handles it
  t.after(() => pool.end());
  // Always a serialization failure: migrate retries it after 100, 200, 300 ms.
  const raced = [{ version: 1, name: 'always_races', sql: `DO $$ BEGIN RAISE EXCEPTION 'raced' USING ERRCODE = '40001'; END $$` }];
  const attempt = migrate(pool, raced);
  attempt.catch(() => undefined);
  let pid: number | undefined;
  const deadline = Date.now() + 10_000;
  while (pid === undefined && Date.now() < deadline) {
    const rows = await withClient(database.url, (c) =>
      c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'sage-migrate-fault' AND state = 'idle' AND query = 'ROLLBACK'`),
    );
    pid = rows.rows[0]?.pid;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(pid !== undefined, 'the migration waits to retry, its connection idle');
  await withClient(database.url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
  await assert.rejects(attempt, /not queryable|Connection terminated|terminating connection/);
  const after = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  assert.notEqual(after.rows[0]!.pid, pid);
});
