/**
 * Tenant isolation through every tool, resource and prompt over HTTP: bob (admin token, so no
 * scope stands in the way) never reads, counts, changes or deletes alice's memories or sessions,
 * whatever ids, projects ("*") or filters he names. Alice's data is checked unchanged at the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mintToken } from '../../src/auth/jwt.ts';
import { setLogLevel } from '../../src/log.ts';
import { callError, callOk } from '../helpers/mcp.ts';
import { connectHttp, startInProcess } from '../helpers/http.ts';
import { makeTempDir } from '../helpers/tmp.ts';

setLogLevel('error');

const SECRET = 'isolation-test-secret-long-enough-for-hs256!';

function resourceText(result: Awaited<ReturnType<Client['readResource']>>): string {
  return result.contents.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('\n');
}

test('tenant B never sees, counts, changes or deletes tenant A’s memories or sessions, through any tool, resource or prompt', async (t) => {
  const dir = makeTempDir(t);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, SECRET);
  const { url } = await startInProcess(t, { keys: { jwtSecretFile: secretFile } });
  const key = new TextEncoder().encode(SECRET);
  const token = (sub: string) => mintToken({ alg: 'HS256', key }, { subject: sub, scopes: ['memory:admin'], ttlSeconds: 600 });
  const alice = await connectHttp(url, await token('alice'), t);
  const bob = await connectHttp(url, await token('bob'), t);

  const SECRET_TEXT = 'alice deploys the payment service with blue green switching';
  await callOk(alice, 'manage_session', { action: 'create', id: 'shared-name', title: 'alice session' });
  const note = await callOk<{ id: string }>(alice, 'remember', { content: SECRET_TEXT, tags: ['deploy'], session: 'shared-name' });
  const turn = await callOk<{ id: string }>(alice, 'save_conversation', { user_prompt: 'how do we deploy payments', assistant_response: `${SECRET_TEXT}, twice a week`, session: 'shared-name' });
  await callOk(alice, 'remember', { content: 'alice keeps a second project', project: 'other' });
  const aliceIds = [note.id, turn.id];
  const mine = await callOk<{ id: string }>(bob, 'remember', { content: 'bob writes his own notes about deploys' });

  // Reads.
  for (const strategy of ['hybrid', 'lexical', 'vector', 'recent']) {
    for (const project of [undefined, '*', 'other']) {
      const page = await callOk<{ results: Array<{ id: string }> }>(bob, 'search_memory', { query: 'deploy payment service blue green', strategy, project, limit: 50 });
      for (const r of page.results) assert.ok(!aliceIds.includes(r.id) && r.id !== note.id, `search ${strategy} ${project} leaked ${r.id}`);
      assert.ok(page.results.every((r) => r.id === mine.id), `search ${strategy} ${String(project)}: only bob's memory`);
    }
  }
  const context = await callOk(bob, 'get_context', { query: 'how do we deploy payments', project: '*' });
  assert.doesNotMatch(JSON.stringify(context), /blue green/);
  assert.match(JSON.stringify(context), /bob writes his own notes/, 'the context call did find something: his own memory');
  const status = await callOk<{ tenant: string; counts: { memories: number; sessions: number; projects: number } }>(bob, 'get_status', {});
  assert.equal(status.tenant, 'bob');
  assert.deepEqual([status.counts.memories, status.counts.sessions, status.counts.projects], [1, 0, 1]);
  // By id: alice's ids do not exist for bob.
  for (const id of aliceIds) {
    assert.match(await callError(bob, 'update_memory', { id, content: 'overwritten by bob' }), /no memory with id/);
    assert.match(await callError(bob, 'forget', { ids: [id] }), /no memory with id/);
  }
  // By filter: only his own.
  const forgotten = await callOk<{ matched: number; ids: string[] }>(bob, 'forget', { filter: { project: '*' }, dry_run: true });
  assert.deepEqual([forgotten.matched, forgotten.ids], [1, [mine.id]]);
  // Sessions.
  assert.match(await callError(bob, 'manage_session', { action: 'info', id: 'shared-name' }), /no session/);
  assert.match(await callError(bob, 'manage_session', { action: 'switch', id: 'shared-name' }), /no session/);
  const list = await callOk<{ sessions: unknown[]; total: number }>(bob, 'manage_session', { action: 'list', project: '*' });
  assert.deepEqual([list.sessions, list.total], [[], 0]);
  // The same session name in bob's tenant is his own, empty session.
  const own = await callOk<{ session: { title: string | null; memory_count: number } }>(bob, 'manage_session', { action: 'create', id: 'shared-name', title: 'bob session' });
  assert.deepEqual([own.session.title, own.session.memory_count], ['bob session', 0]);

  // Resources and the prompt.
  const sessions = resourceText(await bob.readResource({ uri: 'sage://sessions' }));
  assert.doesNotMatch(sessions, /alice session/);
  const session = resourceText(await bob.readResource({ uri: 'sage://session/shared-name' }));
  assert.doesNotMatch(session, /blue green|alice/);
  const listed = await bob.listResources();
  assert.ok(!JSON.stringify(listed).includes('alice session'));
  for (const id of aliceIds) await assert.rejects(bob.readResource({ uri: `sage://memory/${id}` }), /no memory with id/);
  assert.match(resourceText(await bob.readResource({ uri: `sage://memory/${mine.id}` })), /bob writes his own notes/);
  assert.match(resourceText(await alice.readResource({ uri: `sage://memory/${note.id}` })), /blue green/, 'alice reads her own');
  const statusResource = JSON.parse(resourceText(await bob.readResource({ uri: 'sage://status' }))) as { counts: { memories: number } };
  assert.equal(statusResource.counts.memories, 1);
  const prompt = await bob.getPrompt({ name: 'recall', arguments: { topic: 'deploy payment service' } });
  assert.doesNotMatch(JSON.stringify(prompt), /blue green/);

  // Alice's data is intact.
  const aliceStatus = await callOk<{ counts: { memories: number; sessions: number } }>(alice, 'get_status', {});
  assert.deepEqual([aliceStatus.counts.memories, aliceStatus.counts.sessions], [3, 1]);
  const aliceSession = await callOk<{ session: { title: string; memory_count: number } }>(alice, 'manage_session', { action: 'info', id: 'shared-name' });
  assert.deepEqual([aliceSession.session.title, aliceSession.session.memory_count], ['alice session', 2]);
  const found = await callOk<{ results: Array<{ id: string; content: string }> }>(alice, 'search_memory', { query: 'blue green', limit: 10 });
  assert.deepEqual(found.results.map((r) => r.id).sort(), [...aliceIds].sort());
  assert.ok(found.results.every((r) => r.content.includes('blue green')));
});
