/**
 * Tenant isolation enforced by PostgreSQL (migration 002): row-level security on every
 * tenant-keyed table, FORCEd, and tenant work running as the NOLOGIN role sage_runtime — so it
 * holds when Sage connects as a superuser, as the tables' owner, or as a dedicated login role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setLogLevel } from '../../src/log.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { Database } from '../../src/store/db.ts';
import { adminQuery, createTestDatabase, getCluster, urlAs, withClient } from '../helpers/postgres.ts';

setLogLevel('error');

// First in this file: the cluster is new, so sage_runtime does not exist yet and the three
// migrations race to create it (roles are per cluster; the migration lock is per database).
test('three databases migrating at once on a new cluster all succeed (the role is created once)', async (t) => {
  const before = await adminQuery("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'sage_runtime'");
  assert.equal(before.rows[0].n, 0, 'this test needs a cluster where sage_runtime does not exist yet');
  const dbs = await Promise.all([1, 2, 3].map(() => createTestDatabase(t)));
  const handles = dbs.map((d) => new Database({ url: d.url, max: 2 }));
  t.after(() => Promise.all(handles.map((h) => h.close())));
  const reports = await Promise.all(handles.map((h) => h.ready()));
  for (const r of reports) assert.ok(r.applied.includes(2));
  const role = await adminQuery("SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = 'sage_runtime'");
  assert.deepEqual(role.rows, [{ rolcanlogin: false, rolsuper: false, rolbypassrls: false, rolcreaterole: false }]);
});

test('every table with a tenant column has forced row-level security and a policy; sage_runtime owns nothing', async (t) => {
  const d = await createTestDatabase(t);
  const db = new Database({ url: d.url, max: 2 });
  t.after(() => db.close());
  await db.ready();
  await withClient(d.url, async (c) => {
    const tables = await c.query<{ table: string; rls: boolean; forced: boolean; policies: number; owner: string }>(`
      SELECT cl.relname AS table, cl.relrowsecurity AS rls, cl.relforcerowsecurity AS forced,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = cl.oid) AS policies,
             pg_get_userbyid(cl.relowner) AS owner
        FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
       WHERE n.nspname = current_schema() AND cl.relkind IN ('r', 'p')
         AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = cl.oid AND a.attname = 'tenant' AND NOT a.attisdropped)
       ORDER BY 1`);
    assert.ok(tables.rows.some((r) => r.table === 'memories') && tables.rows.some((r) => r.table === 'sessions'));
    for (const r of tables.rows) {
      assert.ok(r.rls && r.forced && r.policies >= 1, `${r.table}: row-level security ${JSON.stringify(r)}`);
      assert.notEqual(r.owner, 'sage_runtime');
    }
  });
});

test('tenant work sees only its tenant, even connected as a superuser and with no tenant predicate', async (t) => {
  const d = await createTestDatabase(t);
  const db = new Database({ url: d.url, max: 2 });
  t.after(() => db.close());
  const service = new MemoryService(db, { dimension: 1024 });
  const a = { tenant: 'alice', project: 'p' };
  const b = { tenant: 'bob', project: 'p' };
  await service.createSession(a, { id: 's-a' });
  const saved = await service.save(a, { kind: 'note', content: 'alice keeps her notes here', session: 's-a' });
  await service.save(b, { kind: 'note', content: 'bob keeps his notes here' });

  // Queries without any tenant predicate, inside tenant transactions.
  const seen = await db.tx('bob', async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM memories')).rows[0]!.n);
  assert.equal(seen, 1);
  const sessions = await db.tx('bob', async (c) => (await c.query('SELECT id FROM sessions')).rows);
  assert.deepEqual(sessions, []);
  const who = await db.tx('bob', async (c) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u);
  assert.equal(who, 'sage_runtime');
  const updated = await db.tx('bob', async (c) => (await c.query("UPDATE memories SET content = 'pwned' WHERE id = $1", [saved.id])).rowCount);
  assert.equal(updated, 0);
  const deleted = await db.tx('bob', async (c) => (await c.query('DELETE FROM memories')).rowCount);
  assert.equal(deleted, 1, 'only his own row');
  await assert.rejects(
    db.tx('bob', (c) => c.query("INSERT INTO sessions (tenant, id, project) VALUES ('alice', 'planted', 'p')")),
    /violates row-level security policy/,
  );
  await assert.rejects(
    db.tx('bob', (c) => c.query("UPDATE sessions SET tenant = 'bob'")).then(async () => {
      // Nothing visible to update; make sure alice's session is untouched.
      const still = await db.tx('alice', async (cc) => (await cc.query('SELECT id FROM sessions')).rows);
      assert.deepEqual(still, [{ id: 's-a' }]);
      throw new Error('no rows visible');
    }),
    /no rows visible/,
  );
  assert.equal((await service.get(a, saved.id)).content, 'alice keeps her notes here');

  // The runtime role without a tenant setting sees nothing and can write nothing.
  await withClient(d.url, async (c) => {
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE sage_runtime');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM memories')).rows[0].n, 0);
    assert.equal((await c.query('SELECT count(*)::int AS n FROM sessions')).rows[0].n, 0);
    await assert.rejects(c.query("INSERT INTO sessions (tenant, id, project) VALUES ('alice', 'x', 'p')"), /row-level security/);
    await c.query('ROLLBACK');
    // A setting left empty by an earlier transaction of the same connection matches no tenant either.
    await c.query('BEGIN');
    await c.query("SELECT set_config('sage.tenant', 'alice', true)");
    await c.query('COMMIT');
    await c.query('BEGIN');
    await c.query('SET LOCAL ROLE sage_runtime');
    assert.equal((await c.query("SELECT current_setting('sage.tenant', true) AS v")).rows[0].v, '');
    assert.equal((await c.query('SELECT count(*)::int AS n FROM memories')).rows[0].n, 0);
    await c.query('ROLLBACK');
  });
});

test('provisioned roles: an owner that is no superuser, and a dedicated login role', async (t) => {
  const d = await createTestDatabase(t);
  const cluster = await getCluster();
  const suffix = Math.random().toString(36).slice(2, 8);
  const owner = `sage_owner_${suffix}`;
  const app = `sage_app_${suffix}`;
  const stranger = `stranger_${suffix}`;
  await adminQuery(`CREATE ROLE ${owner} LOGIN`);
  await adminQuery(`CREATE ROLE ${app} LOGIN`);
  await adminQuery(`CREATE ROLE ${stranger} LOGIN`);
  await adminQuery(`ALTER DATABASE ${d.name} OWNER TO ${owner}`);
  t.after(async () => {
    await d.drop();
    for (const r of [owner, app, stranger]) await adminQuery(`DROP ROLE IF EXISTS ${r}`);
  });
  assert.ok(cluster.port > 0);
  // sage_runtime exists (an earlier test created it); the owner is not a member and may not grant it.
  const ownerDb = new Database({ url: urlAs(d.url, owner), max: 2 });
  t.after(() => ownerDb.close());
  await assert.rejects(ownerDb.ready(), new RegExp(`${owner} is not a member of sage_runtime.*GRANT sage_runtime TO ${owner}`));
  await adminQuery(`GRANT sage_runtime TO ${owner}`);
  await adminQuery(`GRANT sage_runtime TO ${app}`);
  const report = await ownerDb.ready();
  assert.ok(report.applied.includes(2));

  const owned = new MemoryService(ownerDb, { dimension: 1024 });
  await owned.save({ tenant: 'alice', project: 'p' }, { kind: 'note', content: 'written through the owner connection' });
  // The owner itself, outside a tenant transaction, is bound by FORCE row-level security.
  await withClient(urlAs(d.url, owner), async (c) => {
    assert.equal((await c.query('SELECT count(*)::int AS n FROM memories')).rows[0].n, 0);
  });

  // A dedicated login role, member of sage_runtime, owning nothing.
  const appDb = new Database({ url: urlAs(d.url, app), max: 2 });
  t.after(() => appDb.close());
  const viaApp = new MemoryService(appDb, { dimension: 1024 });
  const page = await viaApp.search({ tenant: 'alice', project: 'p' }, { query: 'owner connection' });
  assert.equal(page.results.length, 1);
  assert.equal((await viaApp.search({ tenant: 'bob', project: 'p' }, { query: 'owner connection' })).results.length, 0);
  await withClient(urlAs(d.url, app), async (c) => {
    // Outside a tenant transaction the login role sees no row either.
    assert.equal((await c.query('SELECT count(*)::int AS n FROM memories')).rows[0].n, 0);
    await assert.rejects(c.query('CREATE TABLE planted (x int)'), /permission denied/);
  });

  // A login role that is not a member gets one clear line, not a permission error from deep inside.
  const strangerDb = new Database({ url: urlAs(d.url, stranger), max: 1 });
  t.after(() => strangerDb.close());
  await assert.rejects(strangerDb.tx('alice', async () => 1), /permission denied for table sage_migrations: .* GRANT sage_runtime TO/);
  // Were the schema check passed some other way, switching to the runtime role says the same.
  await withClient(urlAs(d.url, stranger), async (c) => {
    const { beginTenant } = await import('../../src/store/db.ts');
    await assert.rejects(beginTenant(c as never, "o'neil\\"), /may not act as sage_runtime: as an administrator run GRANT sage_runtime TO/);
    await c.query('ROLLBACK');
  });
});

test('a tenant name with quotes and backslashes is sent as one literal: it scopes exactly that tenant', async (t) => {
  const d = await createTestDatabase(t);
  const db = new Database({ url: d.url, max: 2 });
  t.after(() => db.close());
  const odd = `o'neil\\'); SELECT set_config('sage.tenant', 'bob', true); --`;
  const seen = await db.tx(odd, async (c) => (await c.query<{ t: string; r: string }>(`SELECT current_setting('sage.tenant') AS t, current_user AS r`)).rows[0]);
  assert.deepEqual(seen, { t: odd, r: 'sage_runtime' });
  const service = new MemoryService(db, { dimension: 1024 });
  await service.save({ tenant: 'bob', project: 'p' }, { kind: 'note', content: 'bob keeps this quoted secret' });
  assert.equal((await service.search({ tenant: odd, project: 'p' }, { query: 'quoted secret' })).results.length, 0);
  assert.equal((await service.search({ tenant: 'bob', project: 'p' }, { query: 'quoted secret' })).results.length, 1);
});

test("Sage's sessions run with JIT off and 512 kB GIN pending lists (startup options); an options parameter in DATABASE_URL replaces them", async (t) => {
  const d = await createTestDatabase(t);
  const db = new Database({ url: d.url, max: 1 });
  t.after(() => db.close());
  assert.equal((await db.pool.query<{ jit: string }>('SHOW jit')).rows[0]?.jit, 'off');
  assert.equal((await db.pool.query<{ gin_pending_list_limit: string }>('SHOW gin_pending_list_limit')).rows[0]?.gin_pending_list_limit, '512kB');
  const url = new URL(d.url);
  url.searchParams.set('options', '-c jit=on');
  const custom = new Database({ url: url.toString(), max: 1 });
  t.after(() => custom.close());
  assert.equal((await custom.pool.query<{ jit: string }>('SHOW jit')).rows[0]?.jit, 'on');
});

test('a save (one-round-trip script) by a role that lost sage_runtime: the GRANT to run, nothing stored; saves again once granted', async (t) => {
  const d = await createTestDatabase(t);
  const app = `sage_app_${Math.random().toString(36).slice(2, 8)}`;
  // Migrations as the superuser first (they create sage_runtime); the app role only reads and writes.
  const admin = new Database({ url: d.url, max: 1 });
  await admin.ready();
  await admin.close();
  await adminQuery(`CREATE ROLE ${app} LOGIN`);
  await adminQuery(`GRANT sage_runtime TO ${app}`);
  const db = new Database({ url: urlAs(d.url, app), max: 2 });
  t.after(async () => {
    await db.close();
    await d.drop();
    await adminQuery(`DROP ROLE IF EXISTS ${app}`);
  });
  const service = new MemoryService(db, { dimension: 1024 });
  await service.save({ tenant: 'alice', project: 'p' }, { kind: 'note', content: 'saved while the role was granted' });

  await adminQuery(`REVOKE sage_runtime FROM ${app}`);
  await assert.rejects(
    service.save({ tenant: 'alice', project: 'p' }, { kind: 'note', content: 'saved after the grant was revoked' }),
    (err: Error) => err.name === 'ConfigError' && /may not act as sage_runtime: as an administrator run GRANT sage_runtime TO <that role>/.test(err.message),
  );
  await adminQuery(`GRANT sage_runtime TO ${app}`);
  await service.save({ tenant: 'alice', project: 'p' }, { kind: 'note', content: 'saved once granted again' });
  const stored = await withClient(d.url, async (c) => (await c.query<{ content: string }>(`SELECT content FROM memories ORDER BY created_at`)).rows.map((r) => r.content));
  assert.deepEqual(stored, ['saved while the role was granted', 'saved once granted again']);
});
