// src/store/pg-crypto.ts stands in for pg's WebCrypto helpers in the bundle (build.mjs): both
// must compute RFC 7677's SCRAM-SHA-256 example exactly, and give the same bytes for every
// helper pg calls.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';
import * as ours from '../../src/store/pg-crypto.ts';

type Helpers = typeof ours;
const theirs = createRequire(import.meta.url)('pg/lib/crypto/utils.js') as Helpers;

// RFC 7677, section 3: user "user", password "pencil".
const RFC = {
  password: 'pencil',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  iterations: 4096,
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

/** The client's side of SCRAM as pg's crypto/sasl.js computes it, on either set of helpers. */
async function scram(h: Helpers): Promise<{ proof: string; serverSignature: string }> {
  const salted = await h.deriveKey(RFC.password, RFC.salt, RFC.iterations);
  const clientKey = Buffer.from(await h.hmacSha256(salted, 'Client Key'));
  const storedKey = await h.sha256(clientKey);
  const signature = Buffer.from(await h.hmacSha256(storedKey, RFC.authMessage));
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
  const serverKey = await h.hmacSha256(salted, 'Server Key');
  return { proof: proof.toString('base64'), serverSignature: Buffer.from(await h.hmacSha256(serverKey, RFC.authMessage)).toString('base64') };
}

test('SCRAM-SHA-256: the RFC 7677 example, with our helpers and with pg’s', async () => {
  for (const [name, h] of [['ours', ours], ['pg', theirs]] as const) {
    assert.deepEqual(await scram(h), { proof: RFC.proof, serverSignature: RFC.serverSignature }, name);
  }
});

test('every helper pg exports exists here and gives the same bytes', async () => {
  assert.deepEqual(Object.keys(theirs).sort(), Object.keys(ours).sort());
  const bytes = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
  for (const text of ['', 'p', 'pässwörd 密码 🔑', 'x'.repeat(1000)]) {
    assert.equal(await ours.md5(text), await theirs.md5(text), text);
    assert.equal(bytes(await ours.sha256(Buffer.from(text))), bytes(await theirs.sha256(Buffer.from(text))), text);
    for (const name of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
      assert.equal(bytes(await ours.hashByName(name, Buffer.from(text))), bytes(await theirs.hashByName(name, Buffer.from(text))), `${name} ${text}`);
    }
    const key = new Uint8Array([1, 2, 3, 250]).buffer;
    assert.equal(bytes(await ours.hmacSha256(key, text)), bytes(await theirs.hmacSha256(key, text)), text);
  }
  const salt = Buffer.from([9, 8, 7, 6]);
  assert.equal(await ours.postgresMd5PasswordHash('alice', 'secret', salt), await theirs.postgresMd5PasswordHash('alice', 'secret', salt));
  assert.equal(bytes(await ours.deriveKey('pässwörd', salt, 1000)), bytes(await theirs.deriveKey('pässwörd', salt, 1000)));
  const random = ours.randomBytes(18);
  assert.ok(Buffer.isBuffer(random) && random.length === 18);
  assert.notEqual(random.toString('hex'), ours.randomBytes(18).toString('hex'));
});
