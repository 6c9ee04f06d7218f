/**
 * A connection that PostgreSQL cuts while Sage holds it for a transaction (a restart, an
 * administrator's pg_terminate_backend, a failover) is survived: the transaction fails as
 * unavailable, the connection is dropped instead of going back to the pool, and the next
 * transaction works. The cut is made between two statements, when no query is in flight: then
 * the driver reports it as an 'error' event on the client, which pg-pool does not listen for
 * while the client is checked out — unhandled, that event would end the process. The same for
 * the migrations' connection, which waits idle between attempts when a migration raced, and for
 * a new connection terminated in the very read that made it ready. Also: a pool with every
 * connection in use says so, not that PostgreSQL is unreachable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pg from 'pg';
import { UnavailableError } from '../../src/errors.ts';
import { setLogLevel } from '../../src/log.ts';
import { Database, listenForConnectionErrors } from '../../src/store/db.ts';
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
  listenForConnectionErrors(pool); // as Database's pool does
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

/**
 * A TCP proxy to PostgreSQL that, on the first connection after `arm()`, holds the server's first
 * ReadyForQuery, terminates that backend, and passes the ready message and the termination
 * (FATAL 57P01) on in one write: the read in which a restart or failover meets a connection that
 * was just established.
 */
async function readyAndTerminatedInOneRead(target: URL, terminate: (pid: number) => Promise<void>): Promise<{ port: number; arm(): void; close(): Promise<void> }> {
  let first = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream);
    if (!first) {
      upstream.pipe(client);
      return;
    }
    first = false;
    let pending = Buffer.alloc(0);
    let pid: number | undefined;
    let held: Buffer | undefined;
    const release = () => {
      if (held) client.end(Buffer.concat([held, pending]));
      held = undefined;
    };
    upstream.on('data', (chunk: Buffer) => {
      if (held) {
        pending = Buffer.concat([pending, chunk]); // the FATAL after the termination
        return;
      }
      pending = Buffer.concat([pending, chunk]);
      let offset = 0;
      while (pending.length - offset >= 5) {
        const type = String.fromCharCode(pending[offset]!);
        const length = pending.readInt32BE(offset + 1);
        if (pending.length - offset < 1 + length) break;
        if (type === 'K') pid = pending.readInt32BE(offset + 5);
        offset += 1 + length;
        if (type === 'Z' && pid !== undefined) {
          held = pending.subarray(0, offset);
          pending = pending.subarray(offset);
          void terminate(pid);
          upstream.once('close', release);
          return;
        }
      }
      client.write(pending.subarray(0, offset));
      pending = pending.subarray(offset);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm: () => {
      first = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test('a connection terminated in the same read that made it ready is survived: the transaction fails as unavailable, the next one works', async (t) => {
  const database = await createTestDatabase(t);
  const target = new URL(database.url);
  const proxy = await readyAndTerminatedInOneRead(target, async (pid) => {
    await withClient(database.url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
  });
  t.after(() => proxy.close());
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  const db = new Database({ url: viaProxy.toString(), max: 2 });
  t.after(() => db.close());
  await db.ready(); // its connection stays in the pool, idle
  proxy.arm();
  // Two at once: one borrows the idle connection, the other a new one — terminated as it is made.
  const hold = (client: pg.PoolClient) => client.query('SELECT pg_sleep(0.05)');
  const [a, b] = await Promise.allSettled([db.tx('local', hold), db.tx('local', hold)]);
  const refused = [a, b].filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 1, 'exactly the transaction on the new connection fails');
  assert.ok(refused[0]!.reason instanceof UnavailableError, String(refused[0]!.reason));
  const again = await db.tx('local', (client) => client.query<{ one: number }>('SELECT 1 AS one'));
  assert.equal(again.rows[0]!.one, 1);
});

test('every connection in use is told apart from an unreachable PostgreSQL', async (t) => {
  const database = await createTestDatabase(t);
  const db = new Database({ url: database.url, max: 2, connectTimeoutMs: 300 });
  t.after(() => db.close());
  await db.ready();
  const holding = [db.tx('local', (c) => c.query('SELECT pg_sleep(1.5)')), db.tx('local', (c) => c.query('SELECT pg_sleep(1.5)'))];
  await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(db.tx('local', (c) => c.query('SELECT 1')), (err: unknown) => {
    assert.ok(err instanceof UnavailableError);
    assert.match(err.message, /^all 2 database connections of this Sage are in use; try again shortly, or raise SAGE_DB_POOL_MAX$/);
    return true;
  });
  await Promise.all(holding);
  assert.equal((await db.tx('local', (c) => c.query<{ one: number }>('SELECT 1 AS one'))).rows[0]!.one, 1);

  // Nothing listens on the port: that is an unreachable server.
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const gone = new URL(database.url);
  gone.port = String(port);
  const nowhere = new Database({ url: gone.toString(), max: 1, connectTimeoutMs: 300 });
  t.after(() => nowhere.close());
  await assert.rejects(nowhere.tx('local', (c) => c.query('SELECT 1')), /PostgreSQL is not reachable/);
});
