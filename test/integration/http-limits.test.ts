/**
 * Hardening of the HTTP server against real PostgreSQL: DNS-rebinding checks (Host, Origin),
 * the body limit (413), methods (405), unknown paths, bad JSON, the per-request time limit,
 * health and readiness, and a graceful close that lets an in-flight request finish.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { mintToken } from '../../src/auth/jwt.ts';
import { captureLogs, setLogLevel } from '../../src/log.ts';
import { INITIALIZE, postMcp, startInProcess } from '../helpers/http.ts';
import { makeTempDir } from '../helpers/tmp.ts';

setLogLevel('error');

const SECRET = 'another-test-secret-long-enough-for-hs256-keys';

async function setup(t: { after(fn: () => unknown): void }, extra: Parameters<typeof startInProcess>[2] = {}) {
  const dir = makeTempDir(t);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, SECRET);
  const env = await startInProcess(t, { keys: { jwtSecretFile: secretFile } }, extra);
  const token = await mintToken({ alg: 'HS256', key: new TextEncoder().encode(SECRET) }, { subject: 'alice', scopes: ['memory:admin'], ttlSeconds: 600 });
  return { ...env, auth: { Authorization: `Bearer ${token}` } };
}

/** A raw request with full control of Host and body framing (fetch forbids setting Host). */
function raw(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method: options.method ?? 'POST', path: options.path ?? '/mcp', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (options.chunks) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else req.end(options.body);
  });
}

test('Host and Origin are checked on /mcp and the metadata, not on the probes', async (t) => {
  const { url, auth } = await setup(t);
  const headers = { ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
  const body = JSON.stringify(INITIALIZE);
  const port = new URL(url).port;
  assert.equal((await raw(url, { headers: { ...headers, Host: `localhost:${port}` }, body })).status, 200);
  assert.equal((await raw(url, { headers: { ...headers, Host: 'localhost:1' }, body })).status, 200, 'the port does not matter');
  const evil = await raw(url, { headers: { ...headers, Host: 'evil.example.com' }, body });
  assert.equal(evil.status, 403);
  assert.match(evil.body, /Host header not allowed/);
  assert.equal((await raw(url, { headers: { ...headers, Host: `127.0.0.1:${port}`, Origin: 'http://evil.example.com' }, body })).status, 403);
  assert.equal((await raw(url, { headers: { ...headers, Host: `127.0.0.1:${port}`, Origin: 'null' }, body })).status, 403);
  assert.equal((await raw(url, { headers: { ...headers, Host: `127.0.0.1:${port}`, Origin: 'http://localhost:6274' }, body })).status, 200);
  assert.equal((await raw(url, { method: 'GET', path: '/.well-known/oauth-protected-resource', headers: { Host: 'evil.example.com' } })).status, 403);
  assert.equal((await raw(url, { method: 'GET', path: '/healthz', headers: { Host: '10.1.2.3:8080' } })).status, 200);
  assert.equal((await raw(url, { method: 'GET', path: '/readyz', headers: { Host: '10.1.2.3:8080' } })).status, 200);
});

test('body limit: 413 for a declared or streamed body over the limit, and nothing runs', async (t) => {
  const { url, auth, databaseUrl } = await setup(t, { bodyLimit: 64 * 1024 });
  const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remember', arguments: { content: 'x'.repeat(70 * 1024) } } });
  const declared = await postMcp(url, big, auth);
  assert.equal(declared.status, 413);
  assert.match(await declared.text(), /larger than 65536 bytes/);
  const streamed = await raw(url, {
    headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Transfer-Encoding': 'chunked' },
    chunks: Array.from({ length: 10 }, (_, i) => Buffer.from(i === 0 ? big.slice(0, 10_000) : big.slice(i * 10_000, (i + 1) * 10_000))),
  });
  assert.equal(streamed.status, 413);
  // Just under the limit is fine.
  const fits = await postMcp(url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remember', arguments: { content: 'y'.repeat(60 * 1024) } } }, auth);
  assert.equal(fits.status, 200);
  const client = new pg.Client(databaseUrl);
  await client.connect();
  const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM memories WHERE content LIKE 'x%'");
  await client.end();
  assert.equal(rows[0]!.n, 0);
});

test('methods, paths and bodies: 405, 404, 400 as JSON, never a stack trace', async (t) => {
  const { url, auth } = await setup(t);
  const get = await fetch(`${url}/mcp`, { headers: { ...auth, Accept: 'text/event-stream' } });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await fetch(`${url}/mcp`, { method: 'DELETE', headers: auth })).status, 405);
  const missing = await fetch(`${url}/admin`, { headers: auth });
  assert.equal(missing.status, 404);
  const bad = await postMcp(url, '{"jsonrpc": "2.0", "id": 1, "method": ', auth);
  assert.equal(bad.status, 400);
  const text = await bad.text();
  assert.equal((JSON.parse(text) as { error: { code: number } }).error.code, -32700);
  assert.doesNotMatch(text, /SyntaxError|at JSON\.parse|\.ts:\d+/);
  const wrongType = await fetch(`${url}/mcp`, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain', Accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) });
  assert.equal(wrongType.status, 415);
  const malformed = await new Promise<string>((resolve) => {
    const target = new URL(url);
    import('node:net').then(({ connect }) => {
      const socket = connect(Number(target.port), target.hostname, () => socket.end('GARBAGE / HTTP/9\r\n\r\n'));
      let got = '';
      socket.on('data', (c) => (got += c.toString()));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
    });
  });
  assert.match(malformed, /^HTTP\/1\.1 400/);
});

test('a request over the time limit is answered 503 and the server stays healthy', async (t) => {
  const { url, auth, databaseUrl } = await setup(t, { requestTimeoutMs: 700 });
  // Hold the row a session upsert needs: the request blocks in PostgreSQL past the time limit.
  const create = (id: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'manage_session', arguments: { action: 'create', id } } });
  assert.equal((await postMcp(url, create('held'), auth)).status, 200);
  const locker = new pg.Client(databaseUrl);
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query("SELECT * FROM sessions WHERE id = 'held' FOR UPDATE");
  const started = performance.now();
  const slow = await postMcp(url, create('held'), auth);
  const elapsed = performance.now() - started;
  assert.equal(slow.status, 503);
  assert.match(await slow.text(), /longer than 700 ms/);
  assert.ok(elapsed < 5000, `answered after ${elapsed} ms`);
  await locker.query('ROLLBACK');
  await locker.end();
  assert.equal((await postMcp(url, create('other'), auth)).status, 200);
});

test('a client that goes away mid-request is no error: nothing logged above debug, and the server serves on', async (t) => {
  const { url, auth } = await setup(t);
  const lines: string[] = [];
  const restore = captureLogs(lines);
  t.after(restore);
  setLogLevel('debug');
  t.after(() => setLogLevel('error'));
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search_memory', arguments: { query: 'anything at all' } } });
  const target = new URL(url);
  for (let i = 0; i < 5; i++) {
    // Headers and half the body, then the connection is gone.
    const socket = net.connect(Number(target.port), target.hostname);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const head = [`POST /mcp HTTP/1.1`, `Host: ${target.host}`, `Authorization: ${auth.Authorization}`, 'Content-Type: application/json', 'Accept: application/json, text/event-stream', `Content-Length: ${Buffer.byteLength(body)}`];
    socket.write(`${head.join('\r\n')}\r\n\r\n${body.slice(0, body.length >> 1)}`);
    await new Promise((r) => setTimeout(r, 50));
    socket.destroy();
  }
  await new Promise((r) => setTimeout(r, 200));
  const loud = lines.filter((l) => /"level":"(warn|error)"/.test(l));
  assert.deepEqual(loud, [], 'a vanished client is logged at debug only');
  assert.ok(lines.some((l) => l.includes('client went away before the answer')), lines.join('\n'));
  const after = await postMcp(url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'search_memory', arguments: { query: 'anything at all' } } }, auth);
  assert.equal(after.status, 200);
});

test('graceful close: stops accepting, lets the in-flight request finish, then closes', async (t) => {
  const { url, auth, databaseUrl, server } = await setup(t);
  const create = (id: string) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'manage_session', arguments: { action: 'create', id } } });
  assert.equal((await postMcp(url, create('busy'), auth)).status, 200);
  const locker = new pg.Client(databaseUrl);
  locker.on('error', () => undefined);
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query("SELECT * FROM sessions WHERE id = 'busy' FOR UPDATE");
  const inFlight = postMcp(url, create('busy'), auth);
  const deadline = Date.now() + 5000;
  while (server.inFlight() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(server.inFlight(), 1);
  const closed = server.close(10_000);
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(fetch(`${url}/healthz`), 'a closing server accepts no new connection');
  await locker.query('ROLLBACK');
  await locker.end();
  const res = await inFlight;
  assert.equal(res.status, 200);
  const body = (await res.json()) as { result: { isError?: boolean } };
  assert.ok(!body.result.isError);
  await closed;
  assert.equal(server.inFlight(), 0);
});

test('readiness: 200 with a migrated database, 503 without a reachable one (no detail to the client)', async (t) => {
  const { url } = await setup(t);
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  // A second server whose database is a port where nothing listens.
  const { Database } = await import('../../src/store/db.ts');
  const { MemoryService } = await import('../../src/memory/service.ts');
  const { startHttpServer } = await import('../../src/transport/http.ts');
  const { RevocationList } = await import('../../src/auth/revocations.ts');
  const dead = new Database({ url: 'postgres://nobody@127.0.0.1:1/none' });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, service: new MemoryService(dead, { dimension: 1024 }), db: dead, project: 'p', verify: async () => ({ tenant: 't', scopes: new Set() }), revocations: new RevocationList({ read: async () => [] }), bodyLimit: 1024, requestTimeoutMs: 10_000 });
  t.after(async () => {
    await server.close(100);
    await dead.close();
  });
  const res = await fetch(`${server.url}/readyz`);
  assert.equal(res.status, 503);
  const text = await res.text();
  assert.doesNotMatch(text, /nobody|127\.0\.0\.1:1|ECONNREFUSED/, 'no connection detail to clients');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'alive though not ready');
});

test('a token that cannot be checked against the revocation list (never read: database down) gets 503 with Retry-After, not access', async (t) => {
  const { Database } = await import('../../src/store/db.ts');
  const { MemoryService } = await import('../../src/memory/service.ts');
  const { startHttpServer } = await import('../../src/transport/http.ts');
  const { RevocationList } = await import('../../src/auth/revocations.ts');
  const { revocationsSince } = await import('../../src/store/revocations.ts');
  const dead = new Database({ url: 'postgres://nobody@127.0.0.1:1/none', connectTimeoutMs: 300 });
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    service: new MemoryService(dead, { dimension: 1024 }),
    db: dead,
    project: 'p',
    verify: async () => ({ tenant: 't', scopes: new Set(['memory:read' as const]), subject: 'alice', issuedAt: 1 }),
    revocations: new RevocationList({ read: (since) => revocationsSince(dead, since) }),
    bodyLimit: 1 << 16,
    requestTimeoutMs: 10_000,
  });
  t.after(async () => {
    await server.close(100);
    await dead.close();
  });
  const res = await postMcp(server.url, INITIALIZE, { Authorization: 'Bearer a.b.c' });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '2');
  const text = await res.text();
  assert.match(text, /cannot check the token now: the database is not reachable; try again shortly/);
  assert.doesNotMatch(text, /nobody|127\.0\.0\.1:1|ECONNREFUSED/, 'no connection detail to clients');
});
