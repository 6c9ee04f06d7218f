/**
 * Errors that PostgreSQL gives for reasons outside Sage — a login it refuses, a database that is
 * not there, a read-only server, a statement timeout or an administrator's cancel, no connection
 * slot left, a deadlock, a full disk — reach the caller as Sage errors whose message says what to fix (describeDatabaseError,
 * store/db.ts), not as "Sage hit an internal error" or "not reachable". Each is made for real on
 * the test cluster; the pool goes on working afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ConfigError, ConflictError, UnavailableError } from '../../src/errors.ts';
import { setLogLevel } from '../../src/log.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { adminQuery, createTestDatabase, getCluster, urlAs, withClient } from '../helpers/postgres.ts';

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

test('a deadlock between two writers is a conflict to retry, and both pools go on', async (t) => {
  const database = await createTestDatabase(t);
  const db = new Database({ url: database.url, max: 2 });
  t.after(() => db.close());
  await db.tx('local', (c) => c.query(`INSERT INTO sessions (tenant, id, project) VALUES ('local', 'a', 'p'), ('local', 'b', 'p')`));
  // Each transaction locks one row, waits for the other to hold its row, then wants the other's.
  let held = 0;
  const bothHold = new Promise<void>((resolve) => {
    const check = () => (held === 2 ? resolve() : setTimeout(check, 5));
    check();
  });
  const writer = (first: string, second: string) =>
    db.tx('local', async (c) => {
      await c.query(`UPDATE sessions SET title = 'x' WHERE tenant = 'local' AND id = $1`, [first]);
      held++;
      await bothHold;
      await c.query(`UPDATE sessions SET title = 'y' WHERE tenant = 'local' AND id = $1`, [second]);
    });
  const results = await Promise.allSettled([writer('a', 'b'), writer('b', 'a')]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(failed.length, 1, 'PostgreSQL breaks the deadlock by failing one of them');
  assert.ok(failed[0]!.reason instanceof ConflictError, String(failed[0]!.reason));
  assert.match((failed[0]!.reason as Error).message, /^a concurrent change conflicted with this one \(40P01\); nothing was changed — try again$/);
  assert.equal((await db.tx('local', (c) => c.query<{ one: number }>('SELECT 1 AS one'))).rows[0]!.one, 1);
});

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

test(
  'a full disk: the save that does not fit says "out of disk space" and leaves nothing, searches go on, saves work again once there is room',
  { skip: IS_ROOT ? false : 'needs root to mount a small tmpfs for a tablespace' },
  async (t) => {
    // A database whose every file lives on a 16 MiB tmpfs (a copy of template0 takes ~8 of them).
    // Cleaned up in reverse: the pool, the database, the tablespace, then the mount (unmounted
    // first, the next checkpoint could not write the database's buffers).
    const cleanups: Array<() => unknown> = [];
    t.after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });
    const dir = mkdtempSync(join(tmpdir(), 'sage-tiny-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here: ${String(err).slice(0, 200)}`);
      return;
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    execFileSync('chown', ['postgres:postgres', dir]);
    const suffix = Math.random().toString(36).slice(2, 8);
    const [space, name] = [`sage_tiny_${suffix}`, `sage_tiny_db_${suffix}`];
    await adminQuery(`CREATE TABLESPACE ${space} LOCATION '${dir}'`);
    cleanups.push(() => adminQuery(`DROP TABLESPACE IF EXISTS ${space}`));
    await adminQuery(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' TABLESPACE ${space}`);
    cleanups.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const cluster = await getCluster();
    const url = `postgres://postgres@127.0.0.1:${cluster.port}/${name}`;
    const db = new Database({ url, max: 2 });
    cleanups.push(() => db.close());
    const service = new MemoryService(db, { dimension: 2 ** 20 });
    const caller = { tenant: 'local', project: 'p' };
    await service.save(caller, { kind: 'note', content: 'the staging cluster runs on three nodes' });

    const count = async () => (await withClient(url, (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM memories'))).rows[0]!.n;
    let full: unknown;
    let saved = 1;
    for (let i = 0; i < 5000 && full === undefined; i++) {
      const before = await count();
      try {
        // Distinct, mostly incompressible text: ~20 KB a memory.
        await service.save(caller, { kind: 'note', content: `note ${i} ${randomBytes(7_500).toString('base64')}` });
        saved++;
      } catch (err) {
        full = err;
        assert.equal(await count(), before, 'the save that did not fit left no row');
      }
    }
    assert.ok(full instanceof UnavailableError, `expected UnavailableError, got ${String(full)}`);
    assert.match(full.message, /^PostgreSQL is out of disk space \(53100\); nothing was written/);
    assert.ok(saved > 10, `${saved} saves fitted`);
    t.diagnostic(`${saved} memories fitted before the disk was full`);
    const found = await service.search(caller, { query: 'staging cluster nodes' });
    assert.equal(found.results[0]?.content, 'the staging cluster runs on three nodes', 'searches go on');

    execFileSync('mount', ['-o', 'remount,size=64m', dir]);
    await service.save(caller, { kind: 'note', content: 'written once there was room again' });
    assert.equal(await count(), saved + 1);
  },
);
