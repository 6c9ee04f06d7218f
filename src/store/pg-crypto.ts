/**
 * pg's crypto helpers (node_modules/pg/lib/crypto/utils.js) on node:crypto's synchronous
 * functions instead of WebCrypto. build.mjs puts this module in place of pg's in the bundle
 * (pgNodeCryptoPlugin); running from the sources, pg uses its own. Same exports, same results
 * (test/unit/pg-crypto.test.ts checks both against RFC 7677's SCRAM-SHA-256 example).
 *
 * Why: a prompt hook is a new process that opens one connection. With WebCrypto, a SCRAM login
 * loads and compiles WebCrypto's JavaScript (key import, WebIDL conversions) and sends six
 * small jobs through the libuv thread pool, which starts its threads for them: PostgreSQL
 * logged 23 ms from "connection received" to "authenticated" against 15 ms with these
 * functions (Node 24, same server). pg itself used node:crypto this way before 8.12.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes as nodeRandomBytes } from 'node:crypto';

type Bytes = ArrayBuffer | Uint8Array;

/** WebCrypto hands pg ArrayBuffers, which pg passes back in: accept them as well as Buffers. */
const toBuffer = (data: Bytes): Buffer => (Buffer.isBuffer(data) ? data : data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
const input = (data: Bytes | string): Buffer | string => (typeof data === 'string' ? data : toBuffer(data));

/** WebCrypto's hash names ('SHA-256') as OpenSSL's ('sha256'). */
const opensslHash = (name: string): string => name.replace('-', '').toLowerCase();

export function randomBytes(length: number): Buffer {
  return nodeRandomBytes(length);
}

export async function md5(text: string | Bytes): Promise<string> {
  return createHash('md5').update(input(text)).digest('hex');
}

export async function postgresMd5PasswordHash(user: string, password: string, salt: Bytes): Promise<string> {
  const inner = await md5(password + user);
  const outer = await md5(Buffer.concat([Buffer.from(inner), toBuffer(salt)]));
  return 'md5' + outer;
}

export async function sha256(data: Bytes | string): Promise<Buffer> {
  return createHash('sha256').update(input(data)).digest();
}

export async function hashByName(hashName: string, data: Bytes | string): Promise<Buffer> {
  return createHash(opensslHash(hashName)).update(input(data)).digest();
}

export async function hmacSha256(key: Bytes, message: string): Promise<Buffer> {
  return createHmac('sha256', toBuffer(key)).update(message, 'utf8').digest();
}

export async function deriveKey(password: string, salt: Bytes, iterations: number): Promise<Buffer> {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), toBuffer(salt), iterations, 32, 'sha256');
}
