/**
 * A save is one round trip (store/memories.ts saveMemory, Database.script): every value travels
 * as an SQL literal, the session touch, insert and near-duplicate read share one transaction.
 * These tests pin what that must keep: exact text, dedupe under concurrency, all or nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { saveMemory } from '../../src/store/memories.ts';
import { derive } from '../../src/memory/derive.ts';
import { serviceFixture } from '../helpers/service.ts';

test('text, tags, metadata, session and time survive the literal path exactly', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const content = `It's a \\back\\slash, E'\\x41', $1; -- not a comment\n'); DROP TABLE memories; --\t日本語 🚀 \\\\ ''`;
  const userText = `Why does \\n stay "\\n"? O'Neil asked; 'quoted' \\'`;
  const tags = [`o'neil`, 'back\\slash', '"dq"', 'a,b', '{}'];
  const metadata = { q: `it's`, bs: 'C:\\temp\\new', nested: { arr: [1, 'two', null, `th'ree`], u: 'ü\u2028' }, json: '{"a":1}' };
  const session = `s'1\\x`;
  const createdAt = new Date('2024-02-29T23:59:58.123Z');
  const saved = await service.save(caller, { kind: 'turn', userText, content, tags, metadata, session, createdAt });
  assert.equal(saved.duplicate, false);
  assert.equal(saved.session, session);
  assert.equal(saved.created_at, createdAt.toISOString());
  const back = await service.get(caller, saved.id);
  assert.equal(back.content, content);
  assert.equal(back.user_prompt, userText);
  assert.deepEqual(back.tags, tags);
  assert.deepEqual(back.metadata, metadata);
  assert.equal(back.session, session);
  assert.equal(back.created_at, createdAt.toISOString());
  const s = await service.session(caller, session);
  assert.equal(s.memory_count, 1);
  assert.equal(s.created_at, createdAt.toISOString(), 'the session takes the memory time');
  // Found by its text: lexemes and vector keys arrived intact.
  assert.deepEqual((await service.search(caller, { query: 'backslash comment' })).results.map((r) => r.id), [saved.id]);
  // NUL is replaced (with a warning), as before.
  const nul = await service.save(caller, { kind: 'note', content: 'nul\u0000here' });
  assert.equal((await service.get(caller, nul.id)).content, 'nul\uFFFDhere');
  assert.match(nul.warnings.join(' '), /NUL characters/);
});

test('a new save is one round trip; a duplicate too, and it reports no near-duplicates', async (t) => {
  const { service, caller } = await serviceFixture(t);
  await service.save(caller, { kind: 'note', content: 'warm the pool and the migrations' });
  let queries = 0;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    queries++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  t.after(() => {
    pg.Client.prototype.query = original;
  });
  const first = await service.save(caller, { kind: 'note', content: 'The billing service retries webhooks with exponential backoff.', session: 'one' });
  assert.equal(queries, 1);
  const again = await service.save(caller, { kind: 'note', content: 'The billing service retries webhooks with exponential backoff.', session: 'one' });
  assert.equal(queries, 2);
  assert.deepEqual([again.id, again.duplicate, again.near_duplicates], [first.id, true, []]);
  const near = await service.save(caller, { kind: 'note', content: 'The billing service retries webhooks with exponential backoff!' });
  assert.equal(queries, 3);
  assert.equal(near.near_duplicates[0]?.id, first.id);
});

test('concurrent saves of the same content: one memory, one id, every other save a duplicate', async (t) => {
  const { service, caller } = await serviceFixture(t);
  const content = 'Concurrent identical saves must agree on one memory.';
  const results = await Promise.all(Array.from({ length: 8 }, () => service.save(caller, { kind: 'note', content, session: 'race' })));
  assert.equal(new Set(results.map((r) => r.id)).size, 1);
  assert.equal(results.filter((r) => !r.duplicate).length, 1);
  assert.equal((await service.session(caller, 'race')).memory_count, 1);
  assert.equal((await service.status(caller)).counts?.memories, 1);
});

test('a save that fails rolls back the session touch too, and the connection stays usable', async (t) => {
  const { db, service, caller } = await serviceFixture(t);
  const d = derive('note', null, 'never stored', [], { dimension: 2 ** 20 });
  const row = {
    tenant: caller.tenant,
    id: crypto.randomUUID(),
    project: caller.project,
    session: 'ghost',
    // Refused by the table's CHECK: the statement fails after the session's CTE ran.
    kind: 'bogus' as never,
    userText: null,
    content: 'never stored',
    tags: [],
    metadata: {},
    contentHash: d.contentHash,
    vector: d.vector,
    vectorKeys: d.vectorKeys,
    lexemes: d.lexemes,
    vectorizerVersion: d.vectorizerVersion,
  };
  await assert.rejects(saveMemory(db, row, { query: 'never', limit: 20 }), /violates check constraint/);
  await assert.rejects(service.session(caller, 'ghost'), /no session/);
  // Every pooled connection is back in a clean state: saves on all of them work.
  const saved = await Promise.all([1, 2, 3, 4, 5].map((i) => service.save(caller, { kind: 'note', content: `after the failure ${i}`, session: 'ghost' })));
  assert.equal(saved.length, 5);
  assert.equal((await service.session(caller, 'ghost')).memory_count, 5);
});

test('a duplicate committed while the save waited on it is found afresh and returned', async (t) => {
  const { db, service, caller } = await serviceFixture(t);
  const content = 'Held by another transaction until the save is waiting.';
  const d = derive('note', null, content, [], { dimension: 2 ** 20 });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let insertedId = '';
  const other = db.tx(caller.tenant, async (c) => {
    const res = await c.query<{ id: string }>(
      `INSERT INTO memories (tenant, project, kind, content, content_hash, vector, vector_keys, lexemes, vectorizer_version)
       VALUES ($1, $2, 'note', $3, $4, $5, $6::int4[], $7::tsvector, $8) RETURNING id`,
      [caller.tenant, caller.project, content, d.contentHash, d.vector, Array.from(d.vectorKeys), d.lexemes, d.vectorizerVersion],
    );
    insertedId = res.rows[0]!.id;
    await held;
  });
  while (!insertedId) await new Promise((r) => setTimeout(r, 5));
  const saving = service.save(caller, { kind: 'note', content });
  // Wait until the save's backend is blocked on the other transaction's row, then commit it.
  for (let i = 0; i < 400; i++) {
    const waiting = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    if (waiting.rows[0]!.n > 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  release();
  await other;
  const saved = await saving;
  assert.deepEqual([saved.id, saved.duplicate, saved.near_duplicates], [insertedId, true, []]);
});
