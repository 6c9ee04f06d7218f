/**
 * Key loading, token verification, claims → tenant and scopes, the scope table, and the Host /
 * Origin policy — without a server. The HTTP attack matrix runs against a real server in
 * test/integration/http-auth.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, exportJWK, jwtVerify } from 'jose';
import { createVerifier, mintToken, parseTtl, TokenError } from '../../src/auth/jwt.ts';
import { loadSigningKey, loadVerificationKeys } from '../../src/auth/keys.ts';
import { parseScopeList, scopesFromClaims, tenantFromClaims } from '../../src/auth/tenant.ts';
import { ConfigError, InputError } from '../../src/errors.ts';
import { requiredScope, TOOL_SCOPES, toolScope } from '../../src/mcp/access.ts';
import { TOOLS } from '../../src/mcp/tools/index.ts';
import { hostnameOf, hostPolicy } from '../../src/transport/http.ts';
import { makeKeys } from '../helpers/http.ts';
import { makeTempDir } from '../helpers/tmp.ts';

test('no key: serve refuses with one line that says authentication cannot be turned off', () => {
  assert.throws(() => loadVerificationKeys({}), (err: Error) => err instanceof ConfigError && /no key to verify tokens/.test(err.message) && /cannot be turned off/.test(err.message) && !err.message.includes('\n'));
});

test('an HS256 secret shorter than 256 bits is refused; a text secret loses its trailing newline, a binary one is kept byte for byte', async (t) => {
  const dir = makeTempDir(t);
  const short = join(dir, 'short');
  writeFileSync(short, 'x'.repeat(31) + '\n');
  assert.throws(() => loadVerificationKeys({ jwtSecretFile: short }), /holds 31 bytes; HS256 needs at least 32/);
  assert.throws(() => loadSigningKey({ jwtSecretFile: short }), /holds 31 bytes/);
  const ok = join(dir, 'ok');
  writeFileSync(ok, randomBytes(32));
  assert.deepEqual(loadVerificationKeys({ jwtSecretFile: ok }).algorithms, ['HS256']);
  // Binary secrets that end in a byte that looks like whitespace (one in 64 random ones): all
  // 32 bytes are the key, the same key another signer reading the file uses.
  for (const last of [0x0a, 0x20, 0x0d, 0x09]) {
    const bytes = Buffer.concat([randomBytes(31).map((b) => (b < 0x80 ? b | 0x80 : b)), Buffer.from([last])]);
    const binary = join(dir, `binary-${last}`);
    writeFileSync(binary, bytes);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(bytes);
    const verified = await jwtVerify(token, loadVerificationKeys({ jwtSecretFile: binary }).resolve);
    assert.equal(verified.payload.sub, 'alice', `a binary secret ending in 0x${last.toString(16)} is used whole`);
  }
  const text = join(dir, 'text');
  const base64 = randomBytes(48).toString('base64');
  writeFileSync(text, `${base64}\r\n`);
  const fromText = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').sign(new TextEncoder().encode(base64));
  assert.equal((await jwtVerify(fromText, loadVerificationKeys({ jwtSecretFile: text }).resolve)).payload.sub, 'bob', 'the text without its newline is the key');
  assert.throws(() => loadVerificationKeys({ jwtSecretFile: join(dir, 'missing') }), /cannot be read \(ENOENT\)/);
});

test('only one kind of verification key; algorithms pinned from the key and checked against SAGE_JWT_ALGORITHMS', (t) => {
  const keys = makeKeys(t);
  assert.throws(() => loadVerificationKeys({ jwtSecretFile: keys.secretFile, jwtPublicKeyFile: keys.edPublic }), /set only one of SAGE_JWT_SECRET_FILE, SAGE_JWT_PUBLIC_KEY_FILE/);
  assert.deepEqual(loadVerificationKeys({ jwtPublicKeyFile: keys.edPublic }).algorithms, ['EdDSA']);
  assert.deepEqual(loadVerificationKeys({ jwtPublicKeyFile: keys.ecPublic }).algorithms, ['ES256']);
  assert.throws(() => loadVerificationKeys({ jwtPublicKeyFile: keys.edPublic, jwtAlgorithms: 'HS256' }), /lists HS256 but SAGE_JWT_PUBLIC_KEY_FILE only verifies EdDSA/);
  assert.throws(() => loadVerificationKeys({ jwtPublicKeyFile: keys.edPrivate }), /holds a private key/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaFile = join(keys.dir, 'rsa.pub.pem');
  writeFileSync(rsaFile, rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  assert.throws(() => loadVerificationKeys({ jwtPublicKeyFile: rsaFile }), /a rsa key; Sage accepts Ed25519 \(EdDSA\) and P-256 \(ES256\)/);
});

test('JWKS: public keys only, kids unique and required with several keys', async (t) => {
  const dir = makeTempDir(t);
  const file = join(dir, 'jwks.json');
  const a = generateKeyPairSync('ed25519');
  const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ja = { ...(await exportJWK(a.publicKey)), kid: 'a' };
  const jb = { ...(await exportJWK(b.publicKey)), kid: 'b' };
  writeFileSync(file, JSON.stringify({ keys: [ja, jb] }));
  assert.deepEqual(loadVerificationKeys({ jwksFile: file }).algorithms.sort(), ['ES256', 'EdDSA']);
  writeFileSync(file, JSON.stringify({ keys: [ja, { ...jb, kid: 'a' }] }));
  assert.throws(() => loadVerificationKeys({ jwksFile: file }), /kid "a" appears twice/);
  writeFileSync(file, JSON.stringify({ keys: [{ ...ja, kid: undefined }, jb] }));
  assert.throws(() => loadVerificationKeys({ jwksFile: file }), /every key needs a "kid"/);
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(a.privateKey)), kid: 'p' }] }));
  assert.throws(() => loadVerificationKeys({ jwksFile: file }), /private or symmetric key/);
  writeFileSync(file, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }] }));
  assert.throws(() => loadVerificationKeys({ jwksFile: file }), /private or symmetric key/);
  writeFileSync(file, 'not json');
  assert.throws(() => loadVerificationKeys({ jwksFile: file }), /is not JSON/);
});

test('a rotated JWKS file is picked up without a restart; a broken rewrite keeps the last good keys', async (t) => {
  const dir = makeTempDir(t);
  const file = join(dir, 'jwks.json');
  const oldKey = generateKeyPairSync('ed25519');
  const newKey = generateKeyPairSync('ed25519');
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(oldKey.publicKey)), kid: 'old' }] }));
  const verify = createVerifier({ keys: loadVerificationKeys({ jwksFile: file }), tenantClaim: 'sub' });
  const sign = (key: typeof oldKey, kid: string) => mintToken({ alg: 'EdDSA', key: key.privateKey, kid }, { subject: 'alice', scopes: ['memory:read'], ttlSeconds: 600 });
  assert.equal((await verify(await sign(oldKey, 'old'))).tenant, 'alice');
  await assert.rejects(verify(await sign(newKey, 'new')), /unknown key id/);
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(oldKey.publicKey)), kid: 'old' }, { ...(await exportJWK(newKey.publicKey)), kid: 'new' }] }));
  // The file is checked at most once a second.
  const deadline = Date.now() + 5000;
  let accepted = false;
  while (!accepted && Date.now() < deadline) {
    accepted = await verify(await sign(newKey, 'new')).then(() => true, () => false);
    if (!accepted) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(accepted, 'the new key was not picked up within 5 s');
  writeFileSync(file, '{ broken');
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await verify(await sign(newKey, 'new'))).tenant, 'alice', 'a broken file keeps the previous keys');
});

test('a key removed from the JWKS file stops verifying even after the wall clock was set back (the re-check is timed by the monotonic clock)', async (t) => {
  const dir = makeTempDir(t);
  const file = join(dir, 'jwks.json');
  const [oldKey, newKey] = [generateKeyPairSync('ed25519'), generateKeyPairSync('ed25519')];
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(oldKey.publicKey)), kid: 'old' }, { ...(await exportJWK(newKey.publicKey)), kid: 'new' }] }));
  const realNow = Date.now;
  const verify = createVerifier({ keys: loadVerificationKeys({ jwksFile: file }), tenantClaim: 'sub', cache: false, now: () => realNow() });
  const sign = (key: typeof oldKey, kid: string) => mintToken({ alg: 'EdDSA', key: key.privateKey, kid }, { subject: 'alice', scopes: ['memory:read'], ttlSeconds: 600 });
  const [oldToken, newToken] = [await sign(oldKey, 'old'), await sign(newKey, 'new')];
  assert.equal((await verify(oldToken)).tenant, 'alice');
  Date.now = () => realNow() - 3_600_000;
  t.after(() => (Date.now = realNow));
  writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(newKey.publicKey)), kid: 'new' }] }));
  await new Promise((r) => setTimeout(r, 1200));
  await assert.rejects(verify(oldToken), /unknown key id/);
  assert.equal((await verify(newToken)).tenant, 'alice');
});

/** HS256 keys whose verifications are counted (a cache hit verifies nothing), and a signer for them. */
function countingHs256(t: Parameters<typeof makeKeys>[0]) {
  const keys = makeKeys(t);
  const verification = loadVerificationKeys({ jwtSecretFile: keys.secretFile });
  const signing = loadSigningKey({ jwtSecretFile: keys.secretFile });
  let count = 0;
  const counted = { ...verification, resolve: (h: { alg?: string; kid?: string }) => (count++, verification.resolve(h)) };
  const make = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(signing.key as Uint8Array);
  return { counted, make, verifications: () => count };
}

test('a token is served from the cache for at most 60 s of monotonic time, even when the wall clock is set back', async (t) => {
  const { counted, make, verifications } = countingHs256(t);
  let wall = Date.parse('2030-01-01T00:00:00Z');
  let mono = 1_000;
  const verify = createVerifier({ keys: counted, tenantClaim: 'sub', now: () => wall, elapsed: () => mono });
  const token = await make({ sub: 'alice', scope: 'memory:read', exp: Math.floor(wall / 1000) + 86_400 });
  await verify(token);
  wall -= 3_600_000; // set back an hour
  mono += 59_000;
  await verify(token);
  assert.equal(verifications(), 1, 'within 60 s: from the cache');
  mono += 2_000;
  await verify(token).catch(() => undefined);
  assert.equal(verifications(), 2, 'past 60 s of real time it is verified again, whatever the wall clock says');
});

test('signing keys: PEM and JWK (with kid) private keys, or the secret; never both', async (t) => {
  const keys = makeKeys(t);
  assert.equal(loadSigningKey({ jwtPrivateKeyFile: keys.edPrivate }).alg, 'EdDSA');
  assert.equal(loadSigningKey({ jwtPrivateKeyFile: keys.ecPrivate }).alg, 'ES256');
  assert.equal(loadSigningKey({ jwtSecretFile: keys.secretFile }).alg, 'HS256');
  assert.throws(() => loadSigningKey({ jwtSecretFile: keys.secretFile, jwtPrivateKeyFile: keys.edPrivate }), /set only one/);
  assert.throws(() => loadSigningKey({}), /no key to sign with/);
  assert.throws(() => loadSigningKey({ jwtPrivateKeyFile: keys.edPrivate, jwtAlgorithms: 'ES256' }), /for EdDSA but SAGE_JWT_ALGORITHMS allows only ES256/);
  const jwkFile = join(keys.dir, 'ed.jwk');
  const pair = generateKeyPairSync('ed25519');
  writeFileSync(jwkFile, JSON.stringify({ ...(await exportJWK(pair.privateKey)), kid: 'k1' }));
  assert.deepEqual({ ...loadSigningKey({ jwtPrivateKeyFile: jwkFile }), key: null }, { alg: 'EdDSA', kid: 'k1', key: null });
});

test('verification: claims, tolerance, size and shape; every failure is a TokenError without token text', async (t) => {
  const keys = makeKeys(t);
  const verification = loadVerificationKeys({ jwtSecretFile: keys.secretFile });
  const signing = loadSigningKey({ jwtSecretFile: keys.secretFile });
  const verify = createVerifier({ keys: verification, issuer: 'https://issuer.example', audience: 'sage', tenantClaim: 'sub' });
  const make = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(signing.key as Uint8Array);
  const now = Math.floor(Date.now() / 1000);
  const base = { sub: 'alice', iss: 'https://issuer.example', aud: 'sage', exp: now + 600, scope: 'memory:read' };
  const principal = await verify(await make(base));
  assert.equal(principal.tenant, 'alice');
  assert.deepEqual([...principal.scopes], ['memory:read']);
  // Within the 30 s clock tolerance: accepted.
  await verify(await make({ ...base, exp: now - 10, nbf: now + 10, iat: now + 10 }));
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['expired', { ...base, exp: now - 120 }, /expired/],
    ['not yet valid', { ...base, nbf: now + 120 }, /not valid yet/],
    ['issued in the future', { ...base, iat: now + 120 }, /issue time/],
    ['no exp', { ...base, exp: undefined }, /no expiry/],
    ['wrong iss', { ...base, iss: 'https://evil.example' }, /issued by someone else/],
    ['no iss', { ...base, iss: undefined }, /iss/],
    ['wrong aud', { ...base, aud: 'other' }, /another audience/],
    ['no sub', { ...base, sub: undefined }, /no "sub" claim/],
    ['control chars in sub', { ...base, sub: 'a\nb' }, /not a usable tenant/],
  ];
  for (const [name, claims, pattern] of cases) {
    const token = await make(claims);
    await assert.rejects(verify(token), (err: Error) => {
      assert.ok(err instanceof TokenError, name);
      assert.match(err.message, pattern, name);
      assert.ok(!err.message.includes(token.split('.')[1]!), `${name}: message leaks the token`);
      return true;
    });
  }
  await assert.rejects(verify('a'.repeat(9000)), /larger than 8192 bytes/);
  await assert.rejects(verify('not a token'), /not a compact JWS/);
});

test('verified-token cache: hits skip verification; exp, a changed byte and refusals are never served from it; bounded', async (t) => {
  const { counted, make, verifications } = countingHs256(t);
  let clock = Date.parse('2030-01-01T00:00:00Z');
  const now = Math.floor(clock / 1000);
  const verify = createVerifier({ keys: counted, tenantClaim: 'sub', now: () => clock, elapsed: () => clock });

  // A hit returns the very Principal verification returned (frozen: requests share it).
  const reader = await make({ sub: 'alice', scope: 'memory:read', exp: now + 20 });
  const first = await verify(reader);
  assert.equal(verifications(), 1);
  assert.ok(Object.isFrozen(first));
  clock += 10_000;
  assert.equal(await verify(reader), first);
  assert.equal(verifications(), 1, 'a cached token is not verified again');
  assert.deepEqual([...first.scopes], ['memory:read'], 'the cached principal keeps only the scopes of its token');

  // Cached at +0 s with a 60 s cache age, but exp is +20 s: at +51 s (past exp and the 30 s
  // tolerance) the token is refused — verified again, not served from the cache.
  clock += 41_000;
  await assert.rejects(verify(reader), /expired/);
  assert.equal(verifications(), 2);

  // One changed byte (in the signature, or the payload) is another token: verified, refused.
  const writer = await make({ sub: 'bob', scope: 'memory:write', exp: now + 3600 });
  assert.equal((await verify(writer)).tenant, 'bob');
  const [h, p, s] = writer.split('.') as [string, string, string];
  const flip = (c: string) => (c === 'A' ? 'B' : 'A');
  const before = verifications();
  await assert.rejects(verify(`${h}.${p}.${flip(s[0]!)}${s.slice(1)}`), /signature is invalid/);
  await assert.rejects(verify(`${h}.${p.slice(0, -1)}${flip(p.at(-1)!)}.${s}`), TokenError);
  assert.equal(verifications(), before + 2, 'changed tokens were not served from the cache');

  // A refused token is not remembered: once it becomes valid it is accepted.
  const early = await make({ sub: 'carol', nbf: Math.floor(clock / 1000) + 120, exp: now + 3600 });
  await assert.rejects(verify(early), /not valid yet/);
  clock += 100_000;
  assert.equal((await verify(early)).tenant, 'carol');

  // At most 60 s from the cache, even for a long-lived token.
  const long = await make({ sub: 'dave', exp: now + 86_400 });
  await verify(long);
  const n = verifications();
  clock += 59_000;
  await verify(long);
  assert.equal(verifications(), n);
  clock += 2_000;
  await verify(long);
  assert.equal(verifications(), n + 1, 'served from the cache for more than 60 s');

  // Bounded, least recently used out first.
  const small = createVerifier({ keys: counted, tenantClaim: 'sub', now: () => clock, elapsed: () => clock, cache: { entries: 2, maxAgeMs: 60_000 } });
  const exp = Math.floor(clock / 1000) + 3600;
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => make({ sub, exp })));
  await small(a!);
  await small(b!);
  await small(a!); // a is now the most recently used
  await small(c!); // evicts b
  const m = verifications();
  await small(a!);
  await small(c!);
  assert.equal(verifications(), m, 'a and c were cached');
  await small(b!);
  assert.equal(verifications(), m + 1, 'b was evicted');

  // cache: false verifies every time.
  const uncached = createVerifier({ keys: counted, tenantClaim: 'sub', now: () => clock, cache: false });
  const k = verifications();
  await uncached(a!);
  await uncached(a!);
  assert.equal(verifications(), k + 2);
});

test('claims → tenant and scopes', () => {
  assert.deepEqual([...scopesFromClaims({ scope: 'openid memory:read  memory:write' })].sort(), ['memory:read', 'memory:write']);
  assert.deepEqual([...scopesFromClaims({ scp: ['memory:read', 42, 'x'] })], ['memory:read']);
  assert.deepEqual([...scopesFromClaims({ scope: 'memory:admin' })].sort(), ['memory:admin', 'memory:read', 'memory:write']);
  assert.deepEqual([...scopesFromClaims({})], []);
  assert.equal(tenantFromClaims({ team: 'blue', sub: 'alice' }, 'team'), 'blue');
  assert.throws(() => tenantFromClaims({ sub: 'alice' }, 'team'), /no "team" claim/);
  assert.throws(() => tenantFromClaims({ sub: ' alice' }, 'sub'), /not a usable tenant/);
  assert.throws(() => tenantFromClaims({ sub: 7 } as never, 'sub'), /no "sub" claim/);
  assert.deepEqual(parseScopeList('memory:read,memory:write'), ['memory:read', 'memory:write']);
  assert.throws(() => parseScopeList('memory:read,memory:root'), (err: Error) => err instanceof InputError && /"memory:root"/.test(err.message));
  assert.equal(parseTtl('30d'), 30 * 86_400);
  assert.equal(parseTtl('12h'), 12 * 3600);
  assert.throws(() => parseTtl('forever'), /not a duration/);
  assert.throws(() => parseTtl('400d'), /at most|366 days/);
  assert.throws(() => parseTtl('5s'), /1 minute/);
});

test('every tool has a scope rule; reads need read, writes write, forget by filter admin; unknown needs admin', () => {
  for (const tool of TOOLS) assert.ok(Object.hasOwn(TOOL_SCOPES, tool.name), `${tool.name} has no scope rule`);
  for (const tool of TOOLS) {
    // A read-only tool needs only read; every other tool needs at least write for a plain call.
    const expected = tool.annotations.readOnlyHint ? 'memory:read' : 'memory:write';
    assert.equal(toolScope(tool.name, { action: 'create', ids: ['x'] }), expected, tool.name);
  }
  assert.equal(toolScope('forget', { filter: { project: 'p' } }), 'memory:admin');
  assert.equal(toolScope('forget', { ids: ['x'] }), 'memory:write');
  assert.equal(toolScope('manage_session', { action: 'create' }), 'memory:write');
  assert.equal(toolScope('manage_session', { action: 'switch', id: 's' }), 'memory:read');
  assert.equal(toolScope('no_such_tool', {}), 'memory:admin');
  assert.equal(toolScope('__proto__', {}), 'memory:admin');
  assert.equal(requiredScope({ jsonrpc: '2.0', id: 1, method: 'initialize' }), undefined);
  assert.equal(requiredScope({ jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
  assert.equal(requiredScope({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'sage://status' } }), 'memory:read');
  assert.equal(requiredScope({ jsonrpc: '2.0', id: 1, method: 'prompts/get' }), 'memory:read');
  assert.equal(requiredScope({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe' }), 'memory:admin');
  assert.equal(requiredScope({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remember', arguments: {} } }), 'memory:write');
});

test('Host and Origin policy: localhost names and the bind address by default, by name whatever the port', () => {
  assert.equal(hostnameOf('LocalHost:8080'), 'localhost');
  assert.equal(hostnameOf('[::1]:8080'), '[::1]');
  const local = hostPolicy({ host: '127.0.0.1' });
  for (const ok of ['localhost', 'localhost:9999', '127.0.0.1:8080', '[::1]:1']) assert.ok(local.hostOk(ok), ok);
  for (const bad of [undefined, '', 'evil.example.com', 'evil.example.com:8080', '127.0.0.1.evil.example', 'localhost.evil.example']) assert.ok(!local.hostOk(bad), String(bad));
  assert.ok(local.originOk(undefined), 'non-browser clients send no Origin');
  assert.ok(local.originOk('http://localhost:6274'));
  assert.ok(!local.originOk('http://evil.example.com'));
  assert.ok(!local.originOk('null'));
  const wide = hostPolicy({ host: '0.0.0.0', allowedHosts: 'sage.example.com, sage:8080' });
  assert.ok(wide.hostOk('sage.example.com:443'));
  assert.ok(wide.hostOk('sage:8080'));
  assert.ok(!wide.hostOk('sage:9090'));
  assert.ok(!wide.hostOk('localhost'), 'a configured list replaces the defaults');
  const origins = hostPolicy({ host: '127.0.0.1', allowedOrigins: 'https://app.example.com' });
  assert.ok(origins.originOk('https://app.example.com'));
  assert.ok(!origins.originOk('http://localhost:3000'));
  assert.ok(hostPolicy({ host: '127.0.0.1', allowedHosts: '*' }).hostOk('anything'));
  assert.ok(hostPolicy({ host: '127.0.0.1', publicUrl: 'https://mem.example.org/sage' }).hostOk('mem.example.org'));
});
