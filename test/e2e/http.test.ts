/**
 * `sage serve` and `sage token` as processes (the sources, or SAGE_TEST_BINARY=dist/sage):
 * refusing to start without a usable key, tokens that print alone and verify, a full SDK
 * session, graceful SIGTERM, and two replicas on one PostgreSQL under 20 concurrent clients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callOk } from '../helpers/mcp.ts';
import { runSageProcess } from '../helpers/process.ts';
import { connectHttp, INITIALIZE, makeKeys, postMcp, runSage, startServe } from '../helpers/http.ts';
import { createTestDatabase } from '../helpers/postgres.ts';

test('sage serve refuses to start without a usable key: one line, non-zero exit, no port opened', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const none = await runSage(['serve'], { DATABASE_URL: db.url, SAGE_HTTP_PORT: '0' });
  assert.equal(none.code, 2);
  assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);
  assert.match(none.stderr, /^sage serve: invalid configuration: no key to verify tokens: .*authentication cannot be turned off/);
  const shortFile = join(keys.dir, 'short');
  writeFileSync(shortFile, 'too-short-secret\n');
  const short = await runSage(['serve'], { DATABASE_URL: db.url, SAGE_HTTP_PORT: '0', SAGE_JWT_SECRET_FILE: shortFile });
  assert.equal(short.code, 2);
  assert.equal(short.stderr.trim().split('\n').length, 1, short.stderr);
  assert.match(short.stderr, /holds 16 bytes; HS256 needs at least 32 \(256 bits\)/);
  const both = await runSage(['serve'], { DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile, SAGE_JWT_PUBLIC_KEY_FILE: keys.edPublic });
  assert.equal(both.code, 2);
  assert.match(both.stderr, /set only one of/);
});

test('a SIGTERM the moment serve listens (an orchestrator stopping it right after a start) is a graceful stop, exit 0', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  for (let i = 0; i < 3; i++) {
    const serve = await startServe({ DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile, SAGE_HOOK_SOCKET: 'off' }, t);
    const code = await serve.stop('SIGTERM'); // as soon as the "listening" line is read
    assert.equal(code, 0, `start ${i}: exit ${code}\n${serve.stderr.join('\n')}`);
    assert.match(serve.stderr.join('\n'), /"msg":"http server stopped"/);
  }
});

test('sage token prints only the token; EdDSA with a JWK kid, iss and aud; serve verifies it; SIGTERM exits 0', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const pair = generateKeyPairSync('ed25519');
  const privateJwk = join(keys.dir, 'signing.jwk');
  writeFileSync(privateJwk, JSON.stringify({ ...(await exportJWK(pair.privateKey)), kid: '2025-a' }), { mode: 0o600 });
  const jwks = join(keys.dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: '2025-a' }] }));
  const common = { SAGE_JWT_ISSUER: 'https://sage.example', SAGE_JWT_AUDIENCE: 'sage' };

  const minted = await runSage(['token', '--sub', 'alice', '--scope', 'memory:read,memory:write', '--ttl', '30d'], { ...common, SAGE_JWT_PRIVATE_KEY_FILE: privateJwk });
  assert.equal(minted.code, 0, minted.stderr);
  assert.equal(minted.stderr, '');
  assert.match(minted.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  const token = minted.stdout.trim();
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'EdDSA', typ: 'JWT', kid: '2025-a' });
  const claims = decodeJwt(token);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.scope, 'memory:read memory:write');
  assert.deepEqual([claims.iss, claims.aud], ['https://sage.example', 'sage']);
  assert.ok(claims.exp! - claims.iat! === 30 * 86_400);

  const bad = await runSage(['token', '--sub', 'alice', '--scope', 'memory:everything'], { SAGE_JWT_SECRET_FILE: keys.secretFile });
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /unknown scope "memory:everything"/);

  const serve = await startServe({ DATABASE_URL: db.url, SAGE_JWKS_FILE: jwks, ...common }, t);
  const client = await connectHttp(serve.url, token, t);
  const saved = await callOk<{ id: string }>(client, 'remember', { content: 'tokens minted by sage token work' });
  const found = await callOk<{ results: Array<{ id: string }> }>(client, 'search_memory', { query: 'minted tokens' });
  assert.deepEqual(found.results.map((r) => r.id), [saved.id]);
  const ready = await fetch(`${serve.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(((await ready.json()) as { status: string }).status, 'ready');
  await client.close();

  const code = await serve.stop('SIGTERM');
  assert.equal(code, 0);
  const log = serve.stderr.join('\n');
  assert.match(log, /"msg":"http server stopped"/);
  assert.ok(!log.includes(token.split('.')[2]!), 'the token signature reached the log');
});

test('two sage serve processes on one PostgreSQL, 20 concurrent clients interleaving writes: none lost, none duplicated', { timeout: 170_000 }, async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const env = { DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile, SAGE_LOG_LEVEL: 'info', SAGE_DB_POOL_MAX: '8' };
  const [a, b] = await Promise.all([startServe(env, t), startServe(env, t)]);
  const minted = await runSage(['token', '--sub', 'team', '--scope', 'memory:read,memory:write', '--ttl', '1h'], env);
  assert.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();

  const WORKERS = 20;
  const WRITES = 10;
  // Each worker has a client on each server and alternates between them, write by write.
  const clients: Array<[Client, Client]> = [];
  for (let w = 0; w < WORKERS; w++) clients.push([await connectHttp(a.url, token, t), await connectHttp(b.url, token, t)]);
  const acknowledged = new Map<string, string[]>();
  const started = Date.now();
  await Promise.all(
    clients.map(async (pair, w) => {
      const session = `worker-${w}`;
      const ids: string[] = [];
      for (let i = 0; i < WRITES; i++) {
        const client = pair[(w + i) % 2]!;
        const out = await callOk<{ id: string; duplicate: boolean }>(client, 'remember', { content: `worker ${w} write ${i}: a fact that only this write states`, session });
        assert.equal(out.duplicate, false);
        ids.push(out.id);
      }
      acknowledged.set(session, ids);
    }),
  );
  t.diagnostic(`${WORKERS * WRITES} writes through 2 servers in ${Date.now() - started} ms`);

  const all = [...acknowledged.values()].flat();
  assert.equal(all.length, WORKERS * WRITES);
  assert.equal(new Set(all).size, all.length, 'an id was acknowledged twice');
  for (const [name, server] of [['a', clients[0]![0]], ['b', clients[0]![1]]] as const) {
    const status = await callOk<{ counts: { memories: number; sessions: number } }>(server, 'get_status', {});
    assert.deepEqual([status.counts.memories, status.counts.sessions], [WORKERS * WRITES, WORKERS], `counts through server ${name}`);
    for (const [session, ids] of acknowledged) {
      const read = await server.readResource({ uri: `sage://session/${session}` });
      const text = read.contents.map((c) => ('text' in c ? c.text : '')).join('');
      const parsed = JSON.parse(text) as { memories: Array<{ id: string }> };
      assert.deepEqual(parsed.memories.map((m) => m.id).sort(), [...ids].sort(), `${session} through server ${name}`);
    }
  }
  for (const pair of clients) for (const c of pair) await c.close();
  const codes = await Promise.all([a.stop(), b.stop()]);
  assert.deepEqual(codes, [0, 0]);
});

test('sage revoke stops one token, or every token of a subject, on a running serve within seconds; tokens minted after work', async (t) => {
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const env = { DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile };
  const mint = async (sub: string) => {
    const r = await runSage(['token', '--sub', sub], env);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const [alice1, alice2, bob] = [await mint('alice'), await mint('alice'), await mint('bob')];
  const serve = await startServe(env, t);
  const status = (token: string) => postMcp(serve.url, INITIALIZE, { Authorization: `Bearer ${token}` }).then(async (r) => ({ status: r.status, challenge: r.headers.get('www-authenticate') ?? '' }));
  /** Polls until the token is refused (a revocation reaches a server within 2 s). */
  const refusedWithin = async (token: string, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = await status(token);
      if (r.status === 401 || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  for (const token of [alice1, alice2, bob]) assert.equal((await status(token)).status, 200);

  const one = await runSage(['revoke', '--token', alice1, '--reason', 'pasted in a chat'], env);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /^revoked token [0-9a-f-]{36}\n$/);
  const first = await refusedWithin(alice1, 5000);
  assert.equal(first.status, 401);
  assert.match(first.challenge, /error="invalid_token", error_description="the token has been revoked"/);
  assert.equal((await status(alice2)).status, 200, 'the same subject’s other token still works');

  const all = await runSage(['revoke', '--sub', 'alice', '--reason', 'left the team'], env);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^revoked tokens of alice issued before \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
  assert.equal((await refusedWithin(alice2, 5000)).status, 401);
  assert.equal((await status(bob)).status, 200, 'another subject is untouched');
  // A prompt hook on a revoked token says why, and never blocks the prompt.
  const tokenFile = join(keys.dir, 'alice2.token');
  writeFileSync(tokenFile, alice2, { mode: 0o600 });
  const hook = await runSageProcess(['hook', 'prompt', '--url', `${serve.url}/mcp`, '--token-file', tokenFile], { stdin: JSON.stringify({ session_id: 's', cwd: '/tmp', prompt: 'checkout timeout in the payment service' }), timeoutMs: 30_000 });
  assert.equal(hook.code, 0);
  assert.equal(hook.stdout, '');
  assert.match(hook.stderr, /refused the token \(HTTP 401, invalid_token: the tokens of this subject issued before .* have been revoked\)/);
  const fresh = await mint('alice');
  assert.equal((await status(fresh)).status, 200, 'a token minted after the revocation works');
  const client = await connectHttp(serve.url, fresh, t);
  await callOk(client, 'remember', { content: 'alice is back with a new token' });

  const listed = await runSage(['revoke', '--list'], env);
  assert.equal(listed.code, 0, listed.stderr);
  const lines = listed.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /token [0-9a-f-]{36} {2}\(pasted in a chat\)$/);
  assert.match(lines[1]!, /tokens of alice issued before .* {2}\(left the team\)$/);

  const unclear = await runSage(['revoke', '--sub', 'alice', '--jti', 'x'], env);
  assert.equal(unclear.code, 1);
  assert.match(unclear.stderr, /name exactly one of --sub, --jti or --token/);
  const log = serve.stderr.join('\n');
  assert.ok(![alice1, alice2, bob, fresh].some((tk) => log.includes(tk.split('.')[2]!)), 'no token signature in the log');
});
