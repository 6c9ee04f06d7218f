import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withClient } from '../helpers/postgres.ts';
import { serviceFixture } from '../helpers/service.ts';

const TURNS = [
  ['How do we size the pgbouncer pool?', 'Set default_pool_size = 20 in pgbouncer.ini and use transaction pooling.'],
  ['Why did the deploy fail yesterday?', 'The migration locked the users table; we added CREATE INDEX CONCURRENTLY.'],
  ['What test runner do we use for the frontend?', 'Vitest with React Testing Library; run it with npm run test:web.'],
  ['getUserName crashes on null', 'Fixed getUserName to return an empty string when the profile is null.'],
  ['数据库连接池怎么配置？', '我们用 pgbouncer 的事务模式，连接池大小设为 20。'],
  ['部署失败的原因是什么', '迁移脚本锁住了 users 表，改用 CREATE INDEX CONCURRENTLY 解决。'],
  ['前端的测试怎么跑', '前端用 Vitest 测试，命令是 npm run test:web。'],
] as const;

async function seeded(t: Parameters<typeof serviceFixture>[0]) {
  const f = await serviceFixture(t);
  const ids: string[] = [];
  for (const [user, assistant] of TURNS) {
    const r = await f.service.save(f.caller, { kind: 'turn', userText: user, content: assistant, session: 'ops-1' });
    ids.push(r.id);
  }
  return { ...f, ids };
}

test('English search finds the right memory first, with its ranks explained', async (t) => {
  const { service, caller, ids } = await seeded(t);
  const cases: Array<[string, number]> = [
    ['pgbouncer pool size', 0],
    ['deploy failure migration lock', 1],
    ['frontend test runner', 2],
    ['getUserName null', 3],
    ['username crash', 3],
    ['default_pool_size', 0],
  ];
  for (const [query, expected] of cases) {
    const page = await service.search(caller, { query });
    assert.equal(page.results[0]?.id, ids[expected], `"${query}" → ${page.results[0]?.content}`);
    const why = page.results[0]!.why;
    assert.ok(why.lexical_rank !== null || why.vector_rank !== null);
    assert.ok(page.results[0]!.score > 0);
  }
});

test('Chinese search works on characters and bigrams, also mixed with English', async (t) => {
  const { service, caller, ids } = await seeded(t);
  const cases: Array<[string, number]> = [
    ['连接池', 4],
    ['数据库 连接池 配置', 4],
    ['部署失败', 5],
    ['前端测试', 6],
    ['users 表 锁', 5],
  ];
  for (const [query, expected] of cases) {
    const page = await service.search(caller, { query });
    assert.equal(page.results[0]?.id, ids[expected], `"${query}" → ${page.results[0]?.content}`);
  }
});

test('a typo is tolerated through the vector side, and a one-word query is never empty', async (t) => {
  const { service, caller, ids } = await seeded(t);
  const typo = await service.search(caller, { query: 'pgbuoncer' });
  assert.equal(typo.results[0]?.id, ids[0]);
  assert.equal(typo.results[0]?.why.lexical_rank, null);
  const one = await service.search(caller, { query: 'vitest' });
  assert.ok(one.results.length >= 1);
});

test('strategies: lexical, vector and recent rank by their own signal', async (t) => {
  const { service, caller, ids } = await seeded(t);
  const lexical = await service.search(caller, { query: 'pgbouncer', strategy: 'lexical' });
  assert.ok(lexical.results.every((r) => r.why.lexical_rank !== null));
  assert.equal(lexical.results[0]?.id, ids[0]);
  const vector = await service.search(caller, { query: 'pgbuoncer pool', strategy: 'vector' });
  assert.equal(vector.results[0]?.id, ids[0]);
  const recent = await service.search(caller, { strategy: 'recent', limit: 3 });
  assert.deepEqual(recent.results.map((r) => r.id), [ids[6], ids[5], ids[4]]);
});

test('filters: project, session, kind, tags and time range', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const a = await service.save(caller, { kind: 'note', content: 'Redis cache TTL is 300 seconds', tags: ['cache', 'Config'], session: 's1' });
  const b = await service.save(caller, { kind: 'fact', content: 'Redis runs on port 6380 in staging', tags: ['config'], session: 's2' });
  const c = await service.save(caller, { kind: 'note', content: 'Redis cluster planned for next quarter', project: 'other', createdAt: new Date('2024-01-15T10:00:00Z') });
  const ids = async (input: Parameters<typeof service.search>[1]) => (await service.search(caller, { query: 'redis', ...input })).results.map((r) => r.id).sort();

  assert.deepEqual(await ids({}), [a.id, b.id].sort(), 'default project only');
  assert.deepEqual(await ids({ project: 'other' }), [c.id]);
  assert.deepEqual(await ids({ project: '*' }), [a.id, b.id, c.id].sort());
  assert.deepEqual(await ids({ session: 's2' }), [b.id]);
  assert.deepEqual(await ids({ kinds: ['fact'] }), [b.id]);
  assert.deepEqual(await ids({ tags: ['config'] }), [a.id, b.id].sort(), 'tags are case-folded');
  assert.deepEqual(await ids({ tags: ['config', 'cache'] }), [a.id]);
  assert.deepEqual(await ids({ project: '*', until: '2025-01-01' }), [c.id]);
  assert.deepEqual(await ids({ project: '*', since: '2025-01-01' }), [a.id, b.id].sort());
  await assert.rejects(service.search(caller, { query: 'redis', since: 'yesterday' }), /since must be an ISO 8601 date/);
});

test('pagination: cursors walk the results without overlap and refuse another query', async (t) => {
  const { service, caller } = await serviceFixture(t);
  for (let i = 0; i < 12; i++) await service.save(caller, { kind: 'note', content: `Kafka consumer group note number ${i} about offsets` });
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await service.search(caller, { query: 'kafka offsets', limit: 5, cursor });
    seen.push(...page.results.map((r) => r.id));
    cursor = page.next_cursor ?? undefined;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.equal(seen.length, 12);
  assert.equal(new Set(seen).size, 12);
  const first = await service.search(caller, { query: 'kafka offsets', limit: 5 });
  await assert.rejects(service.search(caller, { query: 'kafka', limit: 5, cursor: first.next_cursor! }), /cursor belongs to a different request/);
  await assert.rejects(service.search(caller, { query: 'kafka', cursor: 'garbage!!' }), /cursor is not valid/);
  await assert.rejects(service.search(caller, { query: 'kafka', limit: 51 }), /limit must be a whole number from 1 to 50/);
});

test('dedup: identical content returns the existing id; near-duplicates are reported, not dropped', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const first = await service.save(caller, { kind: 'note', content: 'We deploy with blue-green switching on the load balancer.' });
  const again = await service.save(caller, { kind: 'note', content: '  We deploy with blue-green   switching on the load balancer. ' });
  assert.equal(again.id, first.id);
  assert.equal(again.duplicate, true);
  const near = await service.save(caller, { kind: 'note', content: 'We deploy with blue-green switching on the load balancer!' });
  assert.notEqual(near.id, first.id);
  assert.equal(near.duplicate, false);
  assert.equal(near.near_duplicates[0]?.id, first.id);
  assert.ok(near.near_duplicates[0]!.similarity >= 0.92);
  const other = await service.save(caller, { kind: 'note', content: 'Alerts go to the #ops channel in Slack.' });
  assert.deepEqual(other.near_duplicates, []);
  // The same content in another project is a different memory.
  const elsewhere = await service.save(caller, { kind: 'note', content: 'We deploy with blue-green switching on the load balancer.', project: 'p2' });
  assert.notEqual(elsewhere.id, first.id);
  const status = await service.status(caller);
  assert.equal(status.counts?.memories, 4, 'first, near, other, and the copy in p2');
});

test('soft delete by id and by filter (dry run first); forgotten memories leave search', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const keep = await service.save(caller, { kind: 'note', content: 'Grafana dashboards live in infra/grafana' });
  const drop = await service.save(caller, { kind: 'note', content: 'Grafana admin password rotates monthly', tags: ['secret'] });
  const dry = await service.forget(caller, { filter: { tags: ['secret'] }, dryRun: true });
  assert.deepEqual(dry, { dry_run: true, matched: 1, forgotten: [], ids: [drop.id] });
  assert.equal((await service.search(caller, { query: 'grafana' })).results.length, 2, 'a dry run changes nothing');
  const done = await service.forget(caller, { filter: { tags: ['secret'] } });
  assert.deepEqual(done.forgotten, [drop.id]);
  assert.deepEqual((await service.search(caller, { query: 'grafana' })).results.map((r) => r.id), [keep.id]);
  await assert.rejects(service.get(caller, drop.id), /no memory with id/);
  await assert.rejects(service.forget(caller, { ids: [drop.id] }), /no memory with id .*nothing was forgotten/);
  await assert.rejects(service.forget(caller, { filter: {} }), /needs at least one of/);
  const byId = await service.forget(caller, { ids: [keep.id] });
  assert.deepEqual(byId.forgotten, [keep.id]);
  // After forgetting, the same content can be saved again as a new memory.
  const back = await service.save(caller, { kind: 'note', content: 'Grafana dashboards live in infra/grafana' });
  assert.notEqual(back.id, keep.id);
  assert.equal(back.duplicate, false);
});

test('update: re-derives vectors and lexemes, merges metadata, refuses duplicates', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const m = await service.save(caller, { kind: 'fact', content: 'The API listens on port 8080', metadata: { source: 'readme', stale: true } });
  const other = await service.save(caller, { kind: 'fact', content: 'The API uses JWT auth' });
  const updated = await service.update(caller, { id: m.id, content: 'The API listens on port 9090', metadata: { stale: null, checked: '2025-06-01' } });
  assert.equal(updated.content, 'The API listens on port 9090');
  assert.deepEqual(updated.metadata, { source: 'readme', checked: '2025-06-01' });
  assert.equal((await service.search(caller, { query: '9090' })).results[0]?.id, m.id);
  assert.equal((await service.search(caller, { query: '8080', strategy: 'lexical' })).results.length, 0);
  await assert.rejects(service.update(caller, { id: other.id, content: 'The API listens on port 9090' }), /already has exactly this content/);
  await assert.rejects(service.update(caller, { id: m.id }), /nothing to update/);
  await assert.rejects(service.update(caller, { id: '00000000-0000-4000-8000-000000000000', content: 'x' }), /no memory with id/);
  await assert.rejects(service.update(caller, { id: 'not-a-uuid', content: 'x' }), /is not a memory id/);
  assert.equal((await service.get(caller, other.id)).content, 'The API uses JWT auth', 'the refused update changed nothing');
});

test('sessions persist: create, info, list with counts and activity, pagination', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const s = await service.createSession(caller, { id: 'feature-x', title: 'Feature X' });
  assert.equal(s.id, 'feature-x');
  assert.equal(s.memory_count, 0);
  await service.save({ ...caller, session: 'feature-x' }, { kind: 'turn', userText: 'start', content: 'Started feature X' });
  await service.save(caller, { kind: 'note', content: 'Another session note', session: 'feature-y' });
  const info = await service.session(caller, 'feature-x');
  assert.equal(info.memory_count, 1);
  assert.equal(info.title, 'Feature X');
  assert.ok(info.last_active >= s.last_active);
  const list = await service.sessions(caller, { limit: 1 });
  assert.equal(list.total, 2);
  assert.equal(list.sessions.length, 1);
  const next = await service.sessions(caller, { limit: 1, cursor: list.next_cursor! });
  assert.equal(next.sessions.length, 1);
  assert.notEqual(next.sessions[0]!.id, list.sessions[0]!.id);
  assert.equal(next.next_cursor, null);
  await assert.rejects(service.session(caller, 'nope'), /no session "nope"/);
  const generated = await service.createSession(caller, {});
  assert.match(generated.id, /^s-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/);
});

test('get_context: a budgeted block, most relevant first, near-duplicates folded', async (t) => {
  const { service, caller } = await serviceFixture(t);
  await service.save(caller, { kind: 'fact', content: 'Staging database host is db-staging.internal on port 5433.' });
  await service.save(caller, { kind: 'fact', content: 'Staging database host is db-staging.internal on port 5433!' });
  await service.save(caller, { kind: 'note', content: 'Production database uses streaming replication with two standbys.' });
  await service.save(caller, { kind: 'note', content: 'Lunch is at noon.' });
  const ctx = await service.context(caller, { query: 'staging database host', budget: 1000 });
  assert.ok(ctx.text.length <= 1000);
  const lines = ctx.text.split('\n');
  assert.match(lines[0]!, /^Relevant memories from Sage \(demo\)/);
  assert.match(lines[1]!, /^- \[\d{4}-\d{2}-\d{2} fact \(×2\)\] Staging database host/);
  assert.equal(ctx.folded, 1);
  assert.equal(ctx.text.match(/Staging database host/g)?.length, 1, 'the near-duplicate is shown once');
  assert.ok(!ctx.text.includes('Lunch'), 'unrelated memories are left out');
  const tiny = await service.context(caller, { query: 'database', budget: 200 });
  assert.ok(tiny.text.length <= 200, `budget respected: ${tiny.text.length}`);
  const none = await service.context(caller, { query: 'kubernetes helm chart' });
  assert.equal(none.text, '');
  assert.deepEqual(none.ids, []);
});

test('a date named in the query, in English or Chinese, absolute or relative, prefers what was said then', async (t) => {
  const f = await serviceFixture(t);
  const now = Date.now();
  const DAY = 86_400_000;
  // Three deploy notes alike in wording, said on different days.
  const notes = [
    { content: 'Deploy notes: the release went out behind a feature flag. 部署记录：发布通过功能开关上线。', at: new Date(now - 400 * DAY) },
    { content: 'Deploy notes: the release went out after a canary stage. 部署记录：发布经过金丝雀阶段上线。', at: new Date(now - 1 * DAY) },
    { content: 'Deploy notes: the release went out with a database migration. 部署记录：发布带着数据库迁移上线。', at: new Date(Date.UTC(2023, 9, 13, 10)) },
  ];
  const ids: string[] = [];
  for (const note of notes) ids.push((await f.service.save(f.caller, { kind: 'note', content: note.content })).id);
  await withClient(f.database.url, async (c) => {
    for (const [i, note] of notes.entries()) await c.query('UPDATE memories SET created_at = $2 WHERE id = $1', [ids[i], note.at]);
  });
  const cases: Array<[string, number]> = [
    ['deploy notes from yesterday', 1],
    ['昨天的部署记录', 1],
    ['deploy notes on 2023-10-13', 2],
    ['2023年10月13日的部署记录', 2],
    ['2023年10月的部署记录', 2],
    ['10月13号的部署记录', 2],
  ];
  for (const [query, expected] of cases) {
    const page = await f.service.search(f.caller, { query });
    assert.equal(page.results[0]?.id, ids[expected], `"${query}" → ${page.results[0]?.content}`);
  }
  // Without a date, none of them is preferred for its day: the order is the text's and recency's.
  const plain = await f.service.search(f.caller, { query: '部署记录' });
  assert.equal(plain.results.length, 3);
});
