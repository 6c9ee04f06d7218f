/**
 * What makes search scale (migrations/004_search_scale.ts, store/search-role.ts): ranking runs as
 * sage_search so the scoped GIN indexes can be used, and that changes nothing a caller can see —
 * tenants stay apart, forgotten memories stay out, and without sage_search the same results come
 * back under row-level security.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rankMemories } from '../../src/memory/search.ts';
import { MemoryService } from '../../src/memory/service.ts';
import { VectorCache } from '../../src/memory/vector-cache.ts';
import { Database } from '../../src/store/db.ts';
import { Params, scopeSql } from '../../src/store/filters.ts';
import { candidateEntries, candidateSets, rankingEntries } from '../../src/store/ranking.ts';
import { enterSearchRoleSql } from '../../src/store/search-role.ts';
import { vectorize } from '../../src/vectorize/index.ts';
import { adminQuery, createTestDatabase } from '../helpers/postgres.ts';
import { serviceFixture } from '../helpers/service.ts';

const NOTES = [
  'pgbouncer runs in transaction pooling mode with default_pool_size 20',
  'the deploy failed because the migration locked the users table',
  'frontend tests run with Vitest: npm run test:web',
  'getUserName returns an empty string when the profile is null',
  '数据库连接池用 pgbouncer 的事务模式',
];

test('a ranked read ranks as sage_search and reads back as sage_runtime, committing with its last round trip', async (t) => {
  const { db } = await serviceFixture(t);
  const currentUser = async (client: { query: (sql: string) => Promise<{ rows: Array<{ u?: unknown }> }> }) => (await client.query('SELECT current_user AS u')).rows[0]!.u;
  const seen = await db.rankThenRead('alice', async ({ client, finish }) => {
    const ranking = await currentUser(client);
    const scope = (await client.query("SELECT current_setting('sage.tenant') AS u, current_setting('transaction_read_only') AS ro")).rows[0];
    const last = await finish('SELECT current_user AS u');
    await assert.rejects(finish('SELECT 1'), /already committed/);
    return { ranking, scope, reading: last.rows[0].u, after: (await client.query("SELECT current_setting('sage.tenant', true) AS u")).rows[0].u };
  });
  assert.deepEqual(seen, { ranking: 'sage_search', scope: { u: 'alice', ro: 'on' }, reading: 'sage_runtime', after: '' });
  // Without finish the transaction commits on its own, and the connection is clean for the next one.
  assert.equal(await db.rankThenRead('alice', async ({ client }) => currentUser(client)), 'sage_search');
  assert.equal(await db.tx('bob', async (client) => currentUser(client)), 'sage_runtime');
  // sage_search may read memories and nothing else (and the ranked read is read-only anyway).
  const role = await adminQuery("SELECT rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname = 'sage_search'");
  assert.deepEqual(role.rows[0], { rolcanlogin: false, rolbypassrls: true });
  await db.tx('alice', async (client) => {
    await client.query(enterSearchRoleSql("'sage_search'"));
    assert.equal(await currentUser(client), 'sage_search');
    await assert.rejects(client.query("INSERT INTO sessions (tenant, id, project) VALUES ('alice', 'x', 'p')"), /permission denied/);
  });
  // A failing last statement rolls back and leaves the pool usable.
  await assert.rejects(db.rankThenRead('alice', ({ finish }) => finish('SELECT 1/0')), /division by zero/);
  assert.equal(await db.tx('alice', async (client) => currentUser(client)), 'sage_runtime');
});

test('scoped predicates use the scoped indexes\' expression (it must stay in step with the migration)', async (t) => {
  const { db, service } = await serviceFixture(t);
  for (const content of NOTES) await service.save({ tenant: 'alice', project: 'ops' }, { kind: 'note', content });
  const rows = (
    await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE 'memories_scoped_%' ORDER BY 1`,
    )
  ).rows;
  assert.deepEqual(
    rows.map((r) => r.indexname),
    ['memories_scoped_lexemes', 'memories_scoped_vector_keys'],
  );
  const expression = "ARRAY[tenant, ((tenant || '\u001f'::text) || project)]";
  for (const r of rows) assert.ok(r.indexdef.includes(expression), r.indexdef);
  await db.rankThenRead('alice', async ({ client }) => {
    for (const filter of [{ tenant: 'alice', projects: ['ops'] }, { tenant: 'alice' }]) {
      const params = new Params();
      const scope = scopeSql(filter, params);
      const plan = await client.query(`EXPLAIN SELECT m.id FROM memories m WHERE m.deleted_at IS NULL AND ${scope} AND m.lexemes @@ 'pgbouncer'::tsquery`, params.values);
      const text = plan.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
      assert.ok(text.includes(expression), text);
    }
  });
});

test('ranking as sage_search keeps tenants and projects apart and leaves forgotten memories out', async (t) => {
  const { service } = await serviceFixture(t);
  const alice = { tenant: 'alice', project: 'ops' };
  const bob = { tenant: 'bob', project: 'ops' };
  const aliceIds: string[] = [];
  for (const content of NOTES) aliceIds.push((await service.save(alice, { kind: 'note', content })).id);
  for (const content of NOTES) await service.save(bob, { kind: 'note', content: `${content} (bob)` });
  await service.save({ tenant: 'alice', project: 'other' }, { kind: 'note', content: 'pgbouncer pool in another project' });

  const page = await service.search(alice, { query: 'pgbouncer pool' });
  assert.ok(page.results.length > 0);
  for (const hit of page.results) {
    assert.ok(aliceIds.includes(hit.id), `${hit.content} is not alice's in project ops`);
    assert.equal(hit.project, 'ops');
  }
  const everywhere = await service.search(alice, { query: 'pgbouncer pool', project: '*' });
  assert.ok(everywhere.results.some((h) => h.project === 'other'));
  assert.ok(everywhere.results.every((h) => !h.content.includes('(bob)')));
  const context = await service.context(bob, { query: 'pgbouncer pool size' });
  assert.ok(context.ids.length > 0);
  assert.ok(context.ids.every((id) => !aliceIds.includes(id)));

  await service.forget(alice, { ids: [aliceIds[0]!] });
  const after = await service.search(alice, { query: 'pgbouncer pool' });
  assert.ok(after.results.every((h) => h.id !== aliceIds[0]));
});

test('without sage_search (not granted), search returns the same results under row-level security', async (t) => {
  const d = await createTestDatabase(t);
  const superDb = new Database({ url: d.url, max: 2 });
  t.after(() => superDb.close());
  await superDb.ready();
  const app = `sage_app_${Math.random().toString(36).slice(2, 8)}`;
  await adminQuery(`CREATE ROLE ${app} LOGIN`);
  await adminQuery(`GRANT sage_runtime TO ${app}`);
  t.after(() => adminQuery(`DROP ROLE IF EXISTS ${app}`));
  const url = new URL(d.url);
  url.username = app;
  const appDb = new Database({ url: url.toString(), max: 2 });
  t.after(() => appDb.close());

  const withRole = new MemoryService(superDb, { dimension: 2 ** 20 });
  const withoutRole = new MemoryService(appDb, { dimension: 2 ** 20 });
  const caller = { tenant: 'alice', project: 'ops' };
  for (const content of NOTES) await withRole.save(caller, { kind: 'note', content });

  await appDb.rankThenRead('alice', async ({ client }) => {
    assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, 'sage_runtime', 'the app role is no member of sage_search: ranking stays under row-level security');
  });
  for (const query of ['pgbouncer pool', 'deploy migration lock', 'getUserName', '连接池', 'pgbuoncer']) {
    const a = await withRole.search(caller, { query });
    const b = await withoutRole.search(caller, { query });
    assert.deepEqual(
      b.results.map((h) => [h.id, h.score]),
      a.results.map((h) => [h.id, h.score]),
      query,
    );
  }
});

test('a cached vector is never used for another version of its row', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const saved = await service.save(caller, { kind: 'note', content: 'the cache key is the row version' });
  await service.search(caller, { query: 'cache key row version' });
  const cached = service.vectors.bytes;
  assert.ok(cached > 0, 'searching filled the vector cache');
  await service.update(caller, { id: saved.id, content: 'completely different words about kubernetes pods' });
  const page = await service.search(caller, { query: 'kubernetes pods' });
  assert.equal(page.results[0]?.id, saved.id);
  assert.ok((page.results[0]?.why.vector_similarity ?? 0) > 0.3, 'similarity comes from the new vector, not the cached old one');
  const old = await service.search(caller, { query: 'cache key row version' });
  assert.ok((old.results[0]?.why.vector_similarity ?? 0) < 0.3, 'the old text no longer matches by similarity');
});

test('candidateEntries returns the candidate sets of candidateSets, in their order, with the entries rankingEntries gives', async (t) => {
  const { service, caller, db } = await serviceFixture(t);
  const more = ['pgbouncer pool size tuning for the api', 'the pool of workers drains the queue', 'pgbouncer auth_query and the users table'];
  for (const [i, content] of [...NOTES, ...more].entries()) {
    await service.save(caller, i % 2 === 0 ? { kind: 'turn', userText: 'a question', content, session: 'session-1' } : { kind: 'note', content });
  }
  await service.save({ tenant: 'bob', project: caller.project }, { kind: 'note', content: 'pgbouncer pool of bob' });
  const filter = { tenant: caller.tenant, projects: [caller.project] };
  const lexical = {
    anyQuery: `'pgbouncer' | 'pool'`,
    termQueries: [`'pgbouncer'`, `'pool'`],
    weights: [2, 1],
    limit: 3,
    labelWeights: [0.1, 0.2, 0.7, 1] as const,
    normalization: 1,
    scanLimit: 100,
  };
  const keys = vectorize('pgbouncer users table', { dimension: service.dimension }).indices;
  await db.rankThenRead(caller.tenant, async ({ client }) => {
      for (const [lex, buckets] of [
        [lexical, { keys, limit: 4 }],
        [lexical, undefined],
        [undefined, { keys, limit: 50 }],
      ] as const) {
        const sets = await candidateSets(client, filter, lex, buckets);
        const expected = [...sets.lexical.map((r) => ({ id: r.id, version: r.version, score: r.lexical_score as number | null }))];
        for (const r of sets.buckets) if (!expected.some((e) => e.id === r.id)) expected.push({ id: r.id, version: r.version, score: null });
        assert.ok(expected.length > 0);
        const got = await candidateEntries(client, filter, lex, buckets);
        assert.deepEqual(
          got.map((r) => ({ id: r.id, version: r.version, score: r.lexical_score })),
          expected,
        );
        const entries = new Map((await rankingEntries(client, caller.tenant, expected.map((e) => e.id))).map((e) => [e.id, e]));
        for (const r of got) {
          const e = entries.get(r.id)!;
          assert.equal(r.session_id, e.session_id);
          assert.equal(r.created_at_ms, e.created_at.getTime());
          assert.deepEqual(Buffer.from(r.content_hash), Buffer.from(e.content_hash));
          assert.deepEqual(Buffer.from(r.vector, 'base64'), Buffer.from(e.vector));
        }
      }
  });
});

test('a large corpus keeps its statistics between searches, and a word saved meanwhile is found at once', async (t) => {
  const { service, caller, db } = await serviceFixture(t);
  for (const content of NOTES) await service.save(caller, { kind: 'note', content });
  // Past RANKING.smallCorpus: copies of the notes (new ids and hashes, same words and vectors).
  await db.pool.query(
    `INSERT INTO memories (tenant, id, project, session_id, kind, user_text, content, tags, metadata, content_hash, vector, vector_keys, lexemes, vectorizer_version, created_at, updated_at)
     SELECT m.tenant, gen_random_uuid(), m.project, m.session_id, m.kind, m.user_text, m.content || ' #' || g, m.tags, m.metadata,
            sha256(m.content_hash || int4send(g)), m.vector, m.vector_keys, m.lexemes, m.vectorizer_version, m.created_at - g * interval '1 minute', m.updated_at
     FROM memories m CROSS JOIN generate_series(1, 230) g`,
  );
  const before = await service.search(caller, { query: 'pgbouncer pool mode' });
  assert.ok(before.results.length > 0);
  const again = await service.search(caller, { query: 'pgbouncer pool mode' });
  assert.deepEqual(
    again.results.map((h) => [h.id, h.score]),
    before.results.map((h) => [h.id, h.score]),
    'kept statistics give the same ranking as counted ones',
  );
  assert.equal((await service.search(caller, { query: 'zanzibarix pool' })).results[0]?.why.lexical_rank, 1); // 'pool' only: zanzibarix is unknown
  const saved = await service.save(caller, { kind: 'note', content: 'the zanzibarix proxy replaces pgbouncer' });
  const page = await service.search(caller, { query: 'zanzibarix' });
  assert.equal(page.results[0]?.id, saved.id);
  assert.ok(page.results[0]?.why.lexical_rank === 1, 'a rare word is counted on every search, not taken from the kept statistics');
});

test('a quick ranking (the hook) finds the same best memory in a small corpus without ranking it whole or filling the cache', async (t) => {
  const { service, caller, db } = await serviceFixture(t);
  for (const content of NOTES) await service.save(caller, { kind: 'note', content });
  const filter = { tenant: caller.tenant, projects: [caller.project] };
  for (const query of ['pgbouncer pool', 'deploy migration lock', 'getUserName', 'pgbuoncer']) {
    const cache = new VectorCache(1 << 20);
    const [full, quick] = await db.rankThenRead(caller.tenant, async ({ client }) => [
      await rankMemories(client, filter, query, 'hybrid', 5, service.dimension),
      await rankMemories(client, filter, query, 'hybrid', 5, service.dimension, cache, { quick: true }),
    ]);
    assert.ok(full.length > 0, query);
    assert.equal(quick[0]?.id, full[0]?.id, query);
    assert.equal(cache.size, 0, 'a quick ranking caches nothing');
  }
});
