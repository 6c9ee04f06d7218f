/**
 * End to end over stdio: the official SDK client spawns Sage (the sources, or the binary with
 * SAGE_TEST_BINARY=dist/sage) and uses every tool, resource and prompt against a real
 * PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { adminQuery, createTestDatabase, urlAs } from '../helpers/postgres.ts';
import { callError, callOk, connectStdio, sageCommand } from '../helpers/mcp.ts';

/** The text of a resource read's first content. */
function textOf(result: { contents: Array<Record<string, unknown>> }): string {
  const first = result.contents[0];
  return typeof first?.text === 'string' ? first.text : '';
}

interface Hit {
  id: string;
  content: string;
  why: { lexical_rank: number | null };
}

test('every tool works through the MCP SDK client over stdio', async (t) => {
  const db = await createTestDatabase(t);
  const { client } = await connectStdio({ DATABASE_URL: db.url, SAGE_PROJECT: 'webapp' }, t);

  const tools = await client.listTools();
  const names = tools.tools.map((x) => x.name).sort();
  assert.deepEqual(names, ['S', 'forget', 'get_context', 'get_status', 'manage_session', 'remember', 'save_conversation', 'search_memory', 'update_memory']);
  for (const tool of tools.tools) {
    assert.ok(tool.title && tool.description && tool.description.length > 40, `${tool.name} has a title and a description`);
    assert.ok(tool.outputSchema, `${tool.name} declares an output schema`);
    assert.equal(typeof tool.annotations?.readOnlyHint, 'boolean', `${tool.name} annotations`);
  }
  assert.equal(tools.tools.find((x) => x.name === 'search_memory')?.annotations?.readOnlyHint, true);
  assert.equal(tools.tools.find((x) => x.name === 'forget')?.annotations?.destructiveHint, true);

  const session = await callOk<{ current_session: string }>(client, 'manage_session', { action: 'create', id: 'auth-work', title: 'Auth refactor' });
  assert.equal(session.current_session, 'auth-work');
  const saved = await callOk<{ id: string; session: string; duplicate: boolean }>(client, 'save_conversation', {
    user_prompt: 'How should we store refresh tokens?',
    assistant_response: 'Store refresh tokens hashed with SHA-256 in the refresh_tokens table; rotate on every use.',
    tags: ['auth', 'decision'],
  });
  assert.equal(saved.session, 'auth-work', 'saves go to the current session');
  const short = await callOk<{ id: string; duplicate: boolean }>(client, 'S', {
    user_prompt: 'How should we store refresh tokens?',
    assistant_response: 'Store refresh tokens hashed with SHA-256 in the refresh_tokens table; rotate on every use.',
  });
  assert.equal(short.id, saved.id);
  assert.equal(short.duplicate, true);
  const fact = await callOk<{ id: string }>(client, 'remember', { content: '登录接口的限流是每分钟 10 次 (rate limit on /login)', kind: 'fact', tags: ['auth'] });

  const search = await callOk<{ results: Hit[]; next_cursor: string | null }>(client, 'search_memory', { query: 'refresh token storage' });
  assert.equal(search.results[0]?.id, saved.id);
  const zh = await callOk<{ results: Hit[] }>(client, 'search_memory', { query: '登录限流' });
  assert.equal(zh.results[0]?.id, fact.id);
  const filtered = await callOk<{ results: Hit[] }>(client, 'search_memory', { query: 'auth', tags: ['decision'], kinds: ['turn'] });
  assert.deepEqual(filtered.results.map((r) => r.id), [saved.id]);

  const ctx = await callOk<{ context: string; ids: string[] }>(client, 'get_context', { query: 'how do we handle refresh tokens', budget: 800 });
  assert.match(ctx.context, /refresh tokens hashed/);
  assert.ok(ctx.context.length <= 800);

  const updated = await callOk<{ memory: { content: string; tags: string[] } }>(client, 'update_memory', { id: fact.id, tags: ['auth', 'limits'] });
  assert.deepEqual(updated.memory.tags, ['auth', 'limits']);

  const info = await callOk<{ session: { memory_count: number } }>(client, 'manage_session', { action: 'info' });
  assert.equal(info.session.memory_count, 2, 'the turn and the fact went to the current session');
  const list = await callOk<{ sessions: Array<{ id: string }>; total: number }>(client, 'manage_session', { action: 'list' });
  assert.deepEqual(list.sessions.map((s) => s.id), ['auth-work']);
  await callOk(client, 'manage_session', { action: 'create', id: 'other' });
  const switched = await callOk<{ current_session: string }>(client, 'manage_session', { action: 'switch', id: 'auth-work' });
  assert.equal(switched.current_session, 'auth-work');

  const status = await callOk<{ database: { reachable: boolean; server_version: string }; counts: { memories: number } }>(client, 'get_status');
  assert.equal(status.database.reachable, true);
  assert.match(status.database.server_version, /^15\./);
  assert.equal(status.counts.memories, 2);

  const dry = await callOk<{ dry_run: boolean; ids: string[] }>(client, 'forget', { filter: { tags: ['limits'] } });
  assert.equal(dry.dry_run, true);
  assert.deepEqual(dry.ids, [fact.id]);
  const gone = await callOk<{ forgotten: string[] }>(client, 'forget', { ids: [fact.id] });
  assert.deepEqual(gone.forgotten, [fact.id]);
  assert.equal((await callOk<{ results: Hit[] }>(client, 'search_memory', { query: '登录限流' })).results.length, 0);

  // Resources and the prompt.
  const resources = await client.listResources();
  assert.ok(resources.resources.some((r) => r.uri === 'sage://sessions'));
  assert.ok(resources.resources.some((r) => r.uri === 'sage://status'));
  assert.ok(resources.resources.some((r) => r.uri === 'sage://session/auth-work'));
  const sessions = await client.readResource({ uri: 'sage://sessions' });
  assert.match(textOf(sessions), /auth-work/);
  const one = await client.readResource({ uri: 'sage://session/auth-work' });
  const body = JSON.parse(textOf(one)) as { session: { id: string }; memories: Array<{ id: string }> };
  assert.equal(body.session.id, 'auth-work');
  assert.deepEqual(body.memories.map((m) => m.id), [saved.id]);
  const st = await client.readResource({ uri: 'sage://status' });
  assert.match(textOf(st), /"reachable": true/);
  const prompts = await client.listPrompts();
  assert.deepEqual(prompts.prompts.map((p) => p.name), ['recall']);
  const prompt = await client.getPrompt({ name: 'recall', arguments: { topic: 'refresh tokens' } });
  assert.match(JSON.stringify(prompt.messages), /refresh tokens hashed/);
});

test('bad tool input gets a clear error over MCP and stores nothing', async (t) => {
  const db = await createTestDatabase(t);
  const { client } = await connectStdio({ DATABASE_URL: db.url }, t);
  const kept = await callOk<{ id: string }>(client, 'remember', { content: 'keep me' });
  assert.match(await callError(client, 'save_conversation', { user_prompt: 42, assistant_response: 'x' }), /Input validation error.*user_prompt/s);
  assert.match(await callError(client, 'search_memory', { query: 'x', limit: 500 }), /limit/);
  assert.match(await callError(client, 'search_memory', { query: 'x', strategy: 'magic' }), /strategy/);
  assert.match(await callError(client, 'remember', { content: '' }), /content is empty/);
  assert.match(await callError(client, 'remember', { content: 'x'.repeat(1_048_576) }), /limit is 200000/);
  assert.match(await callError(client, 'update_memory', { id: 'nope', content: 'x' }), /is not a memory id/);
  assert.match(await callError(client, 'manage_session', { action: 'switch', id: 'ghost' }), /no session "ghost"/);
  assert.match(await callError(client, 'forget', {}), /either ids or a filter/);
  await assert.rejects(client.readResource({ uri: 'sage://session/ghost' }), /no session "ghost"/);
  const status = await callOk<{ counts: { memories: number } }>(client, 'get_status');
  assert.equal(status.counts.memories, 1);
  assert.equal((await callOk<{ results: Array<{ id: string }> }>(client, 'search_memory', { query: 'keep' })).results[0]?.id, kept.id);
});

/** `sage stdio` as a raw process (no SDK client), killed after the test; its output so far. */
function rawStdio(t: { after(fn: () => unknown): void }, env: Record<string, string>) {
  const { command, args } = sageCommand();
  const child = spawn(command, [...args, 'stdio'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString('utf8')));
  return { child, out };
}

test('stdout carries only MCP messages and the process exits cleanly when stdin closes', async (t) => {
  const db = await createTestDatabase(t);
  const { child, out } = rawStdio(t, { DATABASE_URL: db.url, SAGE_LOG_LEVEL: 'debug' });
  const send = (msg: unknown) => child.stdin.write(JSON.stringify(msg) + '\n');
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'remember', arguments: { content: 'stdout purity check' } } });
  send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'search_memory', arguments: { query: 'purity' } } });
  const deadline = Date.now() + 20_000;
  while (!out.stdout.includes('"id":3') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.stdin.end();
  const [code] = (await Promise.race([once(child, 'exit'), new Promise((_, reject) => setTimeout(() => reject(new Error('no exit after stdin closed')), 10_000))])) as [number];
  assert.equal(code, 0);
  const lines = out.stdout.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 3, out.stdout);
  for (const line of lines) assert.equal((JSON.parse(line) as { jsonrpc: string }).jsonrpc, '2.0');
  assert.match(lines[2]!, /stdout purity check/);
  const logLines = out.stderr.split('\n').filter((l) => l.length > 0);
  assert.ok(logLines.length >= 2);
  for (const line of logLines) assert.doesNotThrow(() => JSON.parse(line), `stderr line is JSON: ${line}`);
  assert.ok(!out.stderr.includes(db.url.split('@')[0]!.replace('postgres://', '') + ':'), 'no credentials in logs');
});

test('calls sent just before stdin closes are carried out and answered before the process exits (a save is not lost)', async (t) => {
  const db = await createTestDatabase(t);
  const { child, out } = rawStdio(t, { DATABASE_URL: db.url, SAGE_LOG_LEVEL: 'info', SAGE_PROJECT: 'piped', SAGE_HOOK_SOCKET: 'off' });
  // Everything at once and stdin closed behind it, as a script piping requests in does.
  const messages = [
    { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'pipe', version: '0' } } },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'save_conversation', arguments: { user_prompt: 'Where do the piped notes go?', assistant_response: 'Piped into sage stdio and still saved: the last call before stdin closed.' } } },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'remember', arguments: { content: 'A second call in the same pipe, also carried out.' } } },
  ];
  child.stdin.end(messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
  const [code] = (await Promise.race([once(child, 'exit'), new Promise((_, reject) => setTimeout(() => reject(new Error('no exit after stdin closed')), 30_000))])) as [number];
  assert.equal(code, 0, out.stderr);
  const answers = new Map(out.stdout.split('\n').filter(Boolean).map((l) => { const m = JSON.parse(l) as { id: number; result?: { isError?: boolean; structuredContent?: { id?: string } } }; return [m.id, m]; }));
  for (const id of [2, 3]) {
    const answer = answers.get(id);
    assert.ok(answer?.result && !answer.result.isError && answer.result.structuredContent?.id, `call ${id} answered: ${out.stdout}\n${out.stderr}`);
  }
  const { client } = await connectStdio({ DATABASE_URL: db.url, SAGE_PROJECT: 'piped' }, t);
  const found = await callOk<{ results: Array<{ id: string }> }>(client, 'search_memory', { query: 'piped notes saved' });
  assert.ok(found.results.some((r) => r.id === answers.get(2)!.result!.structuredContent!.id), 'the save is in the database');
});

test('with PostgreSQL down the server still initializes and lists tools; calls fail clearly and recover', async (t) => {
  const db = await createTestDatabase(t);
  await db.cluster.stop('fast');
  t.after(() => db.cluster.start());
  const { client, stderr } = await connectStdio({ DATABASE_URL: db.url }, t);
  assert.equal((await client.listTools()).tools.length, 9);
  assert.match(await callError(client, 'remember', { content: 'written while down' }), /PostgreSQL is not reachable .*try again shortly/);
  const status = await callOk<{ database: { reachable: boolean; error: string } }>(client, 'get_status');
  assert.equal(status.database.reachable, false);
  await db.cluster.start();
  const saved = await callOk<{ id: string }>(client, 'remember', { content: 'written after recovery' });
  assert.equal((await callOk<{ results: Array<{ id: string }> }>(client, 'search_memory', { query: 'recovery' })).results[0]?.id, saved.id);
  // Postgres restarting under a live server: the next call after the restart succeeds.
  await db.cluster.restart();
  let ok = false;
  for (let i = 0; i < 20 && !ok; i++) {
    const r = await client.callTool({ name: 'search_memory', arguments: { query: 'recovery' } });
    ok = !r.isError;
    if (!ok) await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(ok, 'recovered after a restart');
  assert.ok(stderr.every((l) => l.startsWith('{')), 'logs stay JSON');
});

test('a database that refuses Sage (unknown role, read-only) gets a tool error that says what to fix, in the answer and in the log', async (t) => {
  const db = await createTestDatabase(t);
  const stranger = await connectStdio({ DATABASE_URL: urlAs(db.url, 'no_such_role') }, t);
  const refused = await callError(stranger.client, 'search_memory', { query: 'anything' });
  assert.match(refused, /^PostgreSQL refused Sage's login \(28000\): fix the user or password in DATABASE_URL/);
  const status = await callOk<{ database: { reachable: boolean; error: string } }>(stranger.client, 'get_status');
  assert.equal(status.database.reachable, false);
  assert.match(status.database.error, /refused Sage's login/);
  const logged = stranger.stderr.map((l) => JSON.parse(l) as { level: string; msg: string; error?: unknown });
  assert.ok(logged.some((l) => l.level === 'warn' && l.msg === 'tool failed' && /refused Sage's login/.test(String(l.error))), 'the operator reads it in the log');
  assert.ok(!logged.some((l) => l.level === 'error'), 'no internal error is logged');

  // A server that takes no writes (a standby, default_transaction_read_only): saves say so, searches work.
  const { client } = await connectStdio({ DATABASE_URL: db.url }, t);
  await callOk(client, 'remember', { content: 'the staging cluster runs on three nodes' });
  await adminQuery(`ALTER DATABASE ${pg.escapeIdentifier(db.name)} SET default_transaction_read_only = on`);
  const readOnly = await connectStdio({ DATABASE_URL: db.url }, t);
  assert.match(await callError(readOnly.client, 'remember', { content: 'written to a standby' }), /^PostgreSQL takes no writes on this connection \(25006\)/);
  const found = await callOk<{ results: Array<{ content: string }> }>(readOnly.client, 'search_memory', { query: 'staging cluster nodes' });
  assert.deepEqual(found.results.map((r) => r.content), ['the staging cluster runs on three nodes']);
});

test('a long memory comes back cut in a search page, with a pointer; the resource sage://memory/{id} holds it whole', async (t) => {
  const db = await createTestDatabase(t);
  const { client } = await connectStdio({ DATABASE_URL: db.url, SAGE_PROJECT: 'webapp' }, t);
  const long = `The flaky checkout test failed because the payment mock timed out. ${'Tool output line with a stack trace and timing data. '.repeat(1_000)}`;
  const saved = await callOk<{ id: string }>(client, 'save_conversation', { user_prompt: 'Why is the checkout test flaky?', assistant_response: long });
  const page = await callOk<{ results: Array<{ id: string; content: string; user_prompt: string; truncated?: boolean }> }>(client, 'search_memory', { query: 'flaky checkout test payment mock' });
  const hit = page.results.find((r) => r.id === saved.id)!;
  assert.equal(hit.truncated, true);
  assert.equal(hit.user_prompt, 'Why is the checkout test flaky?', 'a short text is whole');
  assert.ok(hit.content.length < 6_200, `${hit.content.length} characters`);
  assert.match(hit.content, new RegExp(`… \\[cut: \\d+ more characters; the whole memory is sage://memory/${saved.id}\\]$`));
  const whole = await client.readResource({ uri: `sage://memory/${saved.id}` });
  const memory = JSON.parse(textOf(whole)) as { id: string; content: string };
  assert.equal(memory.content, long);
  await assert.rejects(client.readResource({ uri: 'sage://memory/00000000-0000-4000-8000-000000000000' }), /no memory with id/);
  await assert.rejects(client.readResource({ uri: 'sage://memory/%E0%A4%A' }), /not valid percent-encoding/, 'a malformed id is the caller’s error, not an internal one');
});
