/**
 * The attack matrix against the real HTTP server and PostgreSQL: every forged, stale, misdirected
 * or malformed token is answered 401 with a Bearer challenge and nothing runs (no memory is
 * written — counted as superuser, past row-level security); scopes are enforced with 403; no
 * token, nor any part of one, reaches a log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { exportJWK, SignJWT, base64url } from 'jose';
import { mintToken } from '../../src/auth/jwt.ts';
import { captureLogs, setLogLevel } from '../../src/log.ts';
import { connectHttp, INITIALIZE, postMcp, startInProcess } from '../helpers/http.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const ISSUER = 'https://issuer.example';
const AUDIENCE = 'sage-test';

async function countMemories(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The test connects as a superuser, which bypasses row-level security: this is every row.
    const res = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM memories');
    return res.rows[0]!.n;
  } finally {
    await client.end();
  }
}

function rememberCall(content: string): unknown {
  return { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'remember', arguments: { content } } };
}

test('attack matrix: every bad token is a 401 with a Bearer challenge, nothing runs, nothing is logged', async (t) => {
  const logs: string[] = [];
  setLogLevel('debug');
  const restore = captureLogs(logs);
  t.after(() => {
    restore();
    setLogLevel('info');
  });

  const dir = makeTempDir(t);
  const pair = generateKeyPairSync('ed25519');
  const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1' }] }));
  const { url, databaseUrl } = await startInProcess(t, { keys: { jwksFile }, issuer: ISSUER, audience: AUDIENCE });

  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'alice', scope: 'memory:read memory:write', iss: ISSUER, aud: AUDIENCE, exp: now + 600, iat: now };
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'EdDSA', kid: 'k1' }) =>
    new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(pair.privateKey);
  const valid = await sign(claims);
  const [h, p, s] = valid.split('.') as [string, string, string];
  const other = generateKeyPairSync('ed25519');

  const attacks: Record<string, string | undefined> = {
    'alg none': `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`,
    'HS256 signed with the public key (algorithm confusion)': await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(publicPem)),
    expired: await sign({ ...claims, exp: now - 3600 }),
    'not yet valid': await sign({ ...claims, nbf: now + 3600 }),
    'wrong iss': await sign({ ...claims, iss: 'https://evil.example' }),
    'wrong aud': await sign({ ...claims, aud: 'another-service' }),
    'tampered payload': `${h}.${base64url.encode(JSON.stringify({ ...claims, sub: 'bob', scope: 'memory:admin' }))}.${s}`,
    'unknown kid': await sign(claims, { alg: 'EdDSA', kid: 'k2' }),
    'signed by another key': await new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid: 'k1' }).sign(other.privateKey),
    'missing exp': await sign({ ...claims, exp: undefined }),
    'oversized token': `${h}.${base64url.encode(JSON.stringify({ ...claims, pad: 'x'.repeat(9000) }))}.${s}`,
    'malformed base64': `${h}.${p.slice(0, 10)}$%!${p.slice(10)}.${s}`,
    'not a JWT at all': 'hello',
    'no header': undefined,
  };

  for (const [name, token] of Object.entries(attacks)) {
    const res = await postMcp(url, rememberCall(`attack ${name}`), token === undefined ? {} : { Authorization: `Bearer ${token}` });
    assert.equal(res.status, 401, `${name}: status`);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/, `${name}: challenge`);
    if (token === undefined) assert.doesNotMatch(challenge, /error=/, 'no credentials: no error code (RFC 6750 §3.1)');
    else assert.match(challenge, /error="invalid_token"/, `${name}: error code`);
    const body = (await res.json()) as { error: string; error_description: string };
    assert.ok(!JSON.stringify(body).includes('at '), `${name}: no stack trace`);
  }
  // Also on the other methods and with a non-Bearer scheme.
  assert.equal((await fetch(`${url}/mcp`, { headers: { Accept: 'text/event-stream' } })).status, 401);
  assert.equal((await fetch(`${url}/mcp`, { method: 'DELETE' })).status, 401);
  assert.equal((await postMcp(url, INITIALIZE, { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })).status, 401);

  assert.equal(await countMemories(databaseUrl), 0, 'a refused request wrote a memory');

  // The control: the valid token works, through the SDK client.
  const client = await connectHttp(url, valid, t);
  const saved = await client.callTool({ name: 'remember', arguments: { content: 'the control memory' } });
  assert.ok(!saved.isError);
  assert.equal(await countMemories(databaseUrl), 1);
  // The valid token is now in the verified-token cache: its tampered twins are still refused.
  for (const name of ['tampered payload', 'oversized token', 'malformed base64'] as const) {
    const res = await postMcp(url, rememberCall(`again ${name}`), { Authorization: `Bearer ${attacks[name]!}` });
    assert.equal(res.status, 401, `${name} after the valid token was cached`);
  }
  assert.equal(await countMemories(databaseUrl), 1);

  const metadata = (await (await fetch(`${url}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
  assert.deepEqual(metadata, {
    resource: `${url}/mcp`,
    authorization_servers: [ISSUER],
    scopes_supported: ['memory:read', 'memory:write', 'memory:admin'],
    bearer_methods_supported: ['header'],
    resource_name: 'Sage memory',
  });

  const everything = logs.join('\n');
  assert.ok(everything.includes('token refused'), 'refusals are logged');
  for (const token of [valid, ...Object.values(attacks)]) {
    if (!token) continue;
    for (const part of token.split('.')) {
      if (part.length >= 16) assert.ok(!everything.includes(part), 'a token part reached the log');
    }
  }
});

test('scopes: 403 insufficient_scope before anything runs; read, write and admin tokens', async (t) => {
  const dir = makeTempDir(t);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'a-test-secret-that-is-long-enough-for-hs256!!');
  const { url, databaseUrl } = await startInProcess(t, { keys: { jwtSecretFile: secretFile } });
  const key = new TextEncoder().encode('a-test-secret-that-is-long-enough-for-hs256!!');
  const token = (scopes: string[]) => mintToken({ alg: 'HS256', key }, { subject: 'alice', scopes: scopes as never, ttlSeconds: 600 });
  const reader = await token(['memory:read']);
  const writer = await token(['memory:write']);
  const admin = await token(['memory:admin']);
  const none = await token([]);

  const denied = await postMcp(url, rememberCall('a reader may not write'), { Authorization: `Bearer ${reader}` });
  assert.equal(denied.status, 403);
  assert.match(denied.headers.get('www-authenticate') ?? '', /^Bearer resource_metadata="[^"]+", error="insufficient_scope", scope="memory:write"/);
  assert.equal(await countMemories(databaseUrl), 0);

  const w = await connectHttp(url, writer, t);
  const saved = (await w.callTool({ name: 'remember', arguments: { content: 'release on Thursdays' } })).structuredContent as { id: string };
  // A writer cannot read (search needs memory:read) …
  await assert.rejects(w.callTool({ name: 'search_memory', arguments: { query: 'release' } }), /403|insufficient_scope/);
  // … nor forget by filter (memory:admin), but forgets by id.
  await assert.rejects(w.callTool({ name: 'forget', arguments: { filter: { project: 'default' } } }), /403|insufficient_scope/);

  const r = await connectHttp(url, reader, t);
  const found = (await r.callTool({ name: 'search_memory', arguments: { query: 'release Thursdays' } })).structuredContent as { results: Array<{ id: string }> };
  assert.deepEqual(found.results.map((m) => m.id), [saved.id]);
  assert.equal((await r.readResource({ uri: 'sage://status' })).contents.length, 1);
  await assert.rejects(r.callTool({ name: 'manage_session', arguments: { action: 'create', id: 's1' } }), /403|insufficient_scope/);
  assert.ok(!(await r.callTool({ name: 'manage_session', arguments: { action: 'list' } })).isError);

  const a = await connectHttp(url, admin, t);
  const dry = (await a.callTool({ name: 'forget', arguments: { filter: { project: 'default' } } })).structuredContent as { matched: number; dry_run: boolean };
  assert.deepEqual([dry.matched, dry.dry_run], [1, true]);

  // A token without memory scopes may connect and list, but not read or call anything.
  const n = await connectHttp(url, none, t);
  assert.ok((await n.listTools()).tools.length >= 9);
  await assert.rejects(n.readResource({ uri: 'sage://status' }), /403|insufficient_scope/);
  await assert.rejects(n.getPrompt({ name: 'recall', arguments: { topic: 'x' } }), /403|insufficient_scope/);
  await assert.rejects(n.callTool({ name: 'get_status', arguments: {} }), /403|insufficient_scope/);
  // A batch is refused whole when any message lacks its scope.
  const batch = await postMcp(url, [rememberCall('one'), { jsonrpc: '2.0', id: 8, method: 'ping' }], { Authorization: `Bearer ${reader}` });
  assert.equal(batch.status, 403);
  // The reader's token has answered many requests, so it comes from the verified-token cache
  // now: it still may not write, and the admin's cached token did not lend it any scope.
  assert.equal((await postMcp(url, rememberCall('a cached reader may not write'), { Authorization: `Bearer ${reader}` })).status, 403);
  await assert.rejects(r.callTool({ name: 'manage_session', arguments: { action: 'create', id: 's2' } }), /403|insufficient_scope/);
  assert.equal(await countMemories(databaseUrl), 1);
});

test('the tool layer checks scopes too (defence in depth below the HTTP gate)', async () => {
  const { createMcpServer } = await import('../../src/mcp/server.ts');
  const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  // The service is never reached: the wrapper refuses first.
  const server = createMcpServer({} as never, { tenant: 't', project: 'p' }, { scopes: new Set(['memory:read']) });
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'x', version: '0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  const result = await client.callTool({ name: 'remember', arguments: { content: 'x' } });
  assert.equal(result.isError, true);
  assert.match(JSON.stringify(result.content), /needs the memory:write scope/);
  await client.close();
});
