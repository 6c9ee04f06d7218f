/**
 * The prompt hook's short way to a running Sage (src/transport/local-socket.ts): `sage stdio`
 * and `sage serve` listen on a per-user Unix socket, and `sage hook prompt` asks there before
 * opening PostgreSQL itself. Real processes, a real PostgreSQL; SAGE_TEST_BINARY=dist/sage runs
 * the same on the binary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { callOk, connectStdio, sageCommand } from '../helpers/mcp.ts';
import { makeKeys, startServe } from '../helpers/http.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { runSageProcess } from '../helpers/process.ts';
import { makeTempDir } from '../helpers/tmp.ts';
import { localSocketPath } from '../../src/transport/local-socket.ts';

const VIA_SERVER = / \(via the running Sage\)\n/;

function promptJson(prompt: string, cwd = '/home/alice/src/shop'): string {
  return JSON.stringify({ session_id: 'socket-test', cwd, hook_event_name: 'UserPromptSubmit', prompt });
}

/** The socket of a Sage on `databaseUrl` (tenant "local"), once it is there. */
async function socketFor(databaseUrl: string, timeoutMs = 20_000): Promise<string> {
  const socket = localSocketPath(undefined, databaseUrl, 'local')!;
  for (const started = Date.now(); !existsSync(socket); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > timeoutMs) throw new Error(`no hook socket appeared at ${socket}`);
  }
  return socket;
}

async function gone(file: string, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); existsSync(file); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > timeoutMs) throw new Error(`${file} is still there`);
  }
}

test('the prompt hook asks the running sage stdio over its socket, and PostgreSQL when none runs', async (t) => {
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url };
  const session = await connectStdio(env, t);
  await callOk(session.client, 'remember', { kind: 'fact', content: 'The checkout test timed out because the stripe webhook mock slept 30 s; it now answers at once.', project: 'shop' });
  const socket = await socketFor(db.url);
  assert.equal(statSync(path.dirname(socket)).mode & 0o777, 0o700, 'the directory is private');
  assert.equal(statSync(socket).mode & 0o777, 0o600);

  const viaServer = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('why did the checkout test time out?') });
  assert.equal(viaServer.code, 0, viaServer.stderr);
  assert.match(viaServer.stdout, /^Relevant memories from Sage \(shop\), most relevant first:\n.*stripe webhook mock/);
  assert.match(viaServer.stderr, VIA_SERVER);

  // The hook's own project still decides what it sees, through the server too.
  const otherProject = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('why did the checkout test time out?', '/home/alice/src/blog') });
  assert.equal(otherProject.stdout, '');
  assert.match(otherProject.stderr, /no relevant memories in project "blog"/);

  // Another tenant is another socket: no server for it, so the hook reads PostgreSQL as that tenant.
  const otherTenant = await runSageProcess(['hook', 'prompt'], { env: { ...env, SAGE_TENANT: 'bob' }, stdin: promptJson('why did the checkout test time out?') });
  assert.equal(otherTenant.code, 0, otherTenant.stderr);
  assert.equal(otherTenant.stdout, '', "bob sees none of local's memories");
  assert.doesNotMatch(otherTenant.stderr, VIA_SERVER);

  const off = await runSageProcess(['hook', 'prompt', '--hook-socket', 'off'], { env, stdin: promptJson('why did the checkout test time out?') });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.stdout, viaServer.stdout, 'the same block, read from PostgreSQL');
  assert.doesNotMatch(off.stderr, VIA_SERVER);

  // The client leaves: the server exits and takes its socket with it; hooks read PostgreSQL.
  await session.close();
  await gone(socket);
  const after = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('why did the checkout test time out?') });
  assert.equal(after.stdout, viaServer.stdout);
  assert.doesNotMatch(after.stderr, VIA_SERVER);
});

test('a socket left by a killed Sage is taken over; a directory open to others is refused', async (t) => {
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url };
  const { command, args } = sageCommand();
  const start = (extra: Record<string, string> = {}) => {
    const child = spawn(command, [...args, 'stdio'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, ...extra }, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    t.after(() => child.kill('SIGKILL'));
    return { child, stderr: () => stderr };
  };
  const first = start();
  const socket = await socketFor(db.url);
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(socket), 'a killed Sage leaves its socket file behind');

  const stale = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('postgres deadlock in the migration pool') });
  assert.equal(stale.code, 0, stale.stderr);
  assert.doesNotMatch(stale.stderr, VIA_SERVER);
  assert.match(stale.stderr, /no relevant memories in project "shop"/, 'answered from PostgreSQL, not stuck on the dead socket');

  // The next Sage finds the file, sees that nobody answers on it, and listens there itself.
  const second = start();
  for (const started = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    const out = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('postgres deadlock in the migration pool') });
    assert.equal(out.code, 0, out.stderr);
    if (VIA_SERVER.test(out.stderr)) break;
    if (Date.now() - started > 20_000) throw new Error(`the second Sage never took the socket over: ${second.stderr()}`);
  }

  // A directory others may enter: no socket there, and the hook does not use one either.
  const openDir = path.join(makeTempDir(t), 'sage');
  mkdirSync(openDir, { mode: 0o755 });
  chmodSync(openDir, 0o755);
  const exposedEnv = { SAGE_HOOK_SOCKET: path.join(openDir, 'hook.sock'), SAGE_LOG_LEVEL: 'warn' };
  const exposed = start(exposedEnv);
  for (const started = Date.now(); !/not private/.test(exposed.stderr()); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() - started > 20_000) throw new Error(`no warning about the open directory: ${exposed.stderr()}`);
  }
  assert.match(exposed.stderr(), /is open to other users \(mode 755; expected 700\)/);
  assert.deepEqual(readdirSync(openDir), []);
  const refused = await runSageProcess(['hook', 'prompt'], { env: { ...env, ...exposedEnv }, stdin: promptJson('postgres deadlock in the migration pool') });
  assert.equal(refused.code, 0, refused.stderr);
  assert.match(refused.stderr, /no relevant memories in project "shop"\n/, 'answered from PostgreSQL');
});

test('sage serve listens for the hooks beside it (docker exec -i sage /sage hook prompt)', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const env = { DATABASE_URL: db.url };
  const serve = await startServe({ ...env, SAGE_JWT_SECRET_FILE: keys.secretFile }, t);
  const socket = await socketFor(db.url);
  const capture = await runSageProcess(['hook', 'stop'], {
    env,
    stdin: JSON.stringify({ session_id: '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d', transcript_path: path.resolve(import.meta.dirname, '../fixtures/claude/transcript.jsonl'), cwd: '/home/alice/src/shop', hook_event_name: 'Stop' }),
  });
  assert.match(capture.stderr, /captured 2 new turns/);
  const prompt = await runSageProcess(['hook', 'prompt'], { env, stdin: promptJson('Why was the checkout test timing out?') });
  assert.equal(prompt.code, 0, prompt.stderr);
  assert.match(prompt.stdout, /checkout test fails about one run in five/);
  assert.match(prompt.stderr, VIA_SERVER);
  assert.equal(await serve.stop(), 0);
  await gone(socket);
});

test('a Sage that stops answering costs at most half the hook time: then PostgreSQL answers', async (t) => {
  const db = await createTestDatabase(t);
  const dir = makeTempDir(t); // mkdtemp: 0700, this user's
  const connections = new Set<Socket>();
  const listen = async (name: string, onLine: (line: string, socket: Socket) => void) => {
    const server = createServer((socket) => {
      connections.add(socket);
      socket.on('error', () => undefined);
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          onLine(buffered.slice(0, nl), socket);
          buffered = buffered.slice(nl + 1);
        }
      });
    });
    const file = path.join(dir, name);
    await new Promise<void>((resolve) => server.listen(file, resolve));
    t.after(() => {
      for (const s of connections) s.destroy();
      server.close();
    });
    return file;
  };
  // Accepts connections and never answers: not even initialize.
  const mute = await listen('mute.sock', () => undefined);
  // Answers initialize, then never answers the tool call.
  const stuck = await listen('stuck.sock', (line, socket) => {
    const message = JSON.parse(line) as { id?: number; method?: string };
    if (message.method === 'initialize') {
      const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'stuck', version: '0' } };
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id, result })}\n`);
    }
  });
  const env = { DATABASE_URL: db.url };
  for (const [socket, note] of [
    [mute, /no relevant memories in project "shop"\n/],
    [stuck, /no relevant memories in project "shop" \(read from PostgreSQL: the running Sage failed: .*timed out.*\)\n/i],
  ] as const) {
    const out = await runSageProcess(['hook', 'prompt', '--timeout-ms', '1600'], { env: { ...env, SAGE_HOOK_SOCKET: socket }, stdin: promptJson('postgres deadlock in the migration pool') });
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stderr, /gave up/);
    assert.match(out.stderr, note);
  }
});

test('a bad SAGE_HOOK_SOCKET stops sage stdio at start with the setting named, and a hook says it and exits 0', async (t) => {
  const db = await createTestDatabase(t);
  const bad = { DATABASE_URL: db.url, SAGE_HOOK_SOCKET: 'relative/hook.sock' };
  const stdio = await runSageProcess(['stdio'], { env: bad, stdin: '', timeoutMs: 30_000 });
  assert.equal(stdio.code, 2, stdio.stderr);
  assert.equal(stdio.stdout, '');
  assert.match(stdio.stderr, /SAGE_HOOK_SOCKET: must be "off" or an absolute path of at most 100 bytes \(got "relative\/hook.sock"\)/);
  const hook = await runSageProcess(['hook', 'prompt'], { env: bad, stdin: promptJson('postgres deadlock in the migration pool') });
  assert.equal(hook.code, 0);
  assert.match(hook.stderr, /SAGE_HOOK_SOCKET: must be "off" or an absolute path/);
});
