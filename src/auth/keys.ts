/**
 * Key material for JWTs, loaded from files named by configuration: an HS256 secret, an EdDSA or
 * ES256 public key (PEM), a JWKS of public keys (rotation by `kid`), or a private key (PEM or
 * JWK) for `sage token`. Every problem is a ConfigError with one line that names the setting.
 *
 * The accepted algorithms are pinned here, once, from what the configured key can verify: a
 * token never chooses its own algorithm. Exactly one kind of verification key may be set —
 * mixing an HMAC secret with public keys is how algorithm-confusion attacks start.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { log } from '../log.ts';

export const ALGORITHMS = ['HS256', 'EdDSA', 'ES256'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** 256 bits: RFC 7518 §3.2 requires an HS256 key at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32;

export interface KeySettings {
  jwtSecretFile?: string | undefined;
  jwtPublicKeyFile?: string | undefined;
  jwksFile?: string | undefined;
  jwtPrivateKeyFile?: string | undefined;
  jwtAlgorithms?: string | undefined;
}

/** A protected header as jose hands it to a key resolver. */
export interface TokenHeader {
  alg?: string | undefined;
  kid?: string | undefined;
}

/** Raised while choosing a key for a token (unknown kid): the token is invalid, not the config. */
export class KeySelectionError extends Error {
  override name = 'KeySelectionError';
}

export interface VerificationKeys {
  /** The algorithms a token may use; jose rejects any other before looking at the signature. */
  algorithms: Algorithm[];
  /** Resolves the key for a token's header. */
  resolve(header: TokenHeader): KeyObject | Uint8Array;
  /** For the start-up log line: what verifies tokens (never key material). */
  description: string;
}

export interface SigningKey {
  alg: Algorithm;
  key: KeyObject | Uint8Array;
  kid?: string | undefined;
}

function readBytes(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${setting}=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

const WHITESPACE = [0x20, 0x09, 0x0a, 0x0d];

/**
 * A secret written as text (`openssl rand -base64 48 > FILE`, `sage init-secrets`) loses its
 * trailing whitespace — the newline an editor or echo adds is no part of it. A binary secret
 * (`head -c 32 /dev/urandom`) is used byte for byte: one in 64 ends in a byte that looks like
 * whitespace, and trimming it would shorten the key, or refuse it, or disagree with another
 * service that signs with the same file.
 */
function secretLength(bytes: Uint8Array): number {
  let end = bytes.length;
  while (end > 0 && WHITESPACE.includes(bytes[end - 1]!)) end--;
  for (let i = 0; i < end; i++) if (bytes[i]! < 0x21 || bytes[i]! > 0x7e) return bytes.length; // not printable text
  return end;
}

function loadSecret(path: string): Uint8Array {
  const bytes = readBytes(path, 'SAGE_JWT_SECRET_FILE');
  const end = secretLength(bytes);
  if (end < MIN_SECRET_BYTES) {
    throw new ConfigError(
      `SAGE_JWT_SECRET_FILE=${path} holds ${end} bytes; HS256 needs at least ${MIN_SECRET_BYTES} (256 bits) — create one with: openssl rand -base64 48 > ${path}`,
    );
  }
  return new Uint8Array(bytes.subarray(0, end));
}

/** The JWS algorithm a key is for; only Ed25519 and P-256 keys are accepted. */
function algorithmOf(key: KeyObject, where: string): Algorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  const type = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? '?'}` : (key.asymmetricKeyType ?? key.type);
  throw new ConfigError(`${where}: a ${type} key; Sage accepts Ed25519 (EdDSA) and P-256 (ES256) keys`);
}

function loadPublicKeyPem(path: string): { alg: Algorithm; key: KeyObject } {
  const text = readBytes(path, 'SAGE_JWT_PUBLIC_KEY_FILE').toString('utf8');
  if (/PRIVATE KEY-----/.test(text)) {
    throw new ConfigError(`SAGE_JWT_PUBLIC_KEY_FILE=${path} holds a private key; give the server only the public key (openssl pkey -in KEY -pubout)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new ConfigError(`SAGE_JWT_PUBLIC_KEY_FILE=${path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)`);
  }
  return { alg: algorithmOf(key, `SAGE_JWT_PUBLIC_KEY_FILE=${path}`), key };
}

interface JwkEntry {
  kid: string | undefined;
  alg: Algorithm;
  key: KeyObject;
}

function parseJwks(text: string, path: string): JwkEntry[] {
  const where = `SAGE_JWKS_FILE=${path}`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ConfigError(`${where} is not JSON (expected {"keys": [...]})`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(`${where} has no keys (expected {"keys": [...]})`);
  const entries: JwkEntry[] = [];
  const kids = new Set<string>();
  for (const [i, raw] of keys.entries()) {
    if (!raw || typeof raw !== 'object') throw new ConfigError(`${where}: key ${i} is not an object`);
    const jwk = raw as Record<string, unknown>;
    const label = `${where}: key ${typeof jwk.kid === 'string' ? `"${jwk.kid}"` : i}`;
    if ('d' in jwk || jwk.kty === 'oct') throw new ConfigError(`${label} is a private or symmetric key; a JWKS for Sage holds public keys only`);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw new ConfigError(`${label} has use "${String(jwk.use)}"; expected "sig"`);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw new ConfigError(`${label} is not a valid public JWK`);
    }
    const alg = algorithmOf(key, label);
    if (jwk.alg !== undefined && !(jwk.alg === alg || (alg === 'EdDSA' && jwk.alg === 'Ed25519'))) {
      throw new ConfigError(`${label} says alg "${String(jwk.alg)}" but is a key for ${alg}`);
    }
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
    if (kid !== undefined) {
      if (kids.has(kid)) throw new ConfigError(`${where}: kid "${kid}" appears twice`);
      kids.add(kid);
    }
    entries.push({ kid, alg, key });
  }
  if (entries.length > 1 && entries.some((e) => e.kid === undefined)) {
    throw new ConfigError(`${where}: with several keys, every key needs a "kid" (tokens name their key by kid)`);
  }
  return entries;
}

/**
 * A JWKS file, re-read when it changes (checked at most once a second), so keys rotate without
 * a restart: add the new key, switch the issuer to it, remove the old one later. A file that
 * becomes unreadable or invalid keeps the last good keys (and says so in the log).
 */
class JwksFile {
  readonly path: string;
  #entries: JwkEntry[];
  #signature: string;
  /**
   * When the file was last checked, by the monotonic clock: by the wall clock, set back (an NTP
   * step, a resumed laptop), a key removed from the file would stay trusted until it caught up.
   */
  #checkedAt: number;

  constructor(path: string) {
    this.path = path;
    this.#signature = this.#stat();
    this.#entries = parseJwks(readBytes(path, 'SAGE_JWKS_FILE').toString('utf8'), path);
    this.#checkedAt = performance.now();
  }

  #stat(): string {
    try {
      const s = statSync(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  entries(): JwkEntry[] {
    const now = performance.now();
    if (now - this.#checkedAt >= 1000) {
      this.#checkedAt = now;
      const signature = this.#stat();
      if (signature !== this.#signature) {
        this.#signature = signature;
        try {
          this.#entries = parseJwks(readFileSync(this.path, 'utf8'), this.path);
          log.info('JWKS reloaded', { path: this.path, keys: this.#entries.length });
        } catch (err) {
          log.error('JWKS file changed but cannot be used; keeping the previous keys', { path: this.path, error: err });
        }
      }
    }
    return this.#entries;
  }
}

function parseAlgorithms(value: string | undefined): Algorithm[] | undefined {
  if (value === undefined || value === '') return undefined;
  const list = value.split(',').map((a) => a.trim());
  for (const a of list) {
    if (!(ALGORITHMS as readonly string[]).includes(a)) throw new ConfigError(`SAGE_JWT_ALGORITHMS: "${a}" is not one of ${ALGORITHMS.join(', ')}`);
  }
  return [...new Set(list as Algorithm[])];
}

/** Narrows the algorithms the keys can verify to those configured; refuses an impossible pin. */
function pin(available: Algorithm[], configured: Algorithm[] | undefined, source: string): Algorithm[] {
  if (configured === undefined) return available;
  const usable = configured.filter((a) => available.includes(a));
  const unusable = configured.filter((a) => !available.includes(a));
  if (unusable.length > 0) {
    throw new ConfigError(`SAGE_JWT_ALGORITHMS lists ${unusable.join(', ')} but ${source} only verifies ${available.join(', ')}`);
  }
  return usable;
}

const NO_KEY =
  'no key to verify tokens: set SAGE_JWT_SECRET_FILE (HS256), SAGE_JWT_PUBLIC_KEY_FILE or SAGE_JWKS_FILE (EdDSA/ES256); authentication cannot be turned off';

/** The keys `sage serve` verifies tokens with. Throws ConfigError when none or several kinds are set. */
export function loadVerificationKeys(settings: KeySettings): VerificationKeys {
  const set = [
    settings.jwtSecretFile && 'SAGE_JWT_SECRET_FILE',
    settings.jwtPublicKeyFile && 'SAGE_JWT_PUBLIC_KEY_FILE',
    settings.jwksFile && 'SAGE_JWKS_FILE',
  ].filter((s): s is string => Boolean(s));
  if (set.length === 0) throw new ConfigError(NO_KEY);
  if (set.length > 1) throw new ConfigError(`set only one of ${set.join(', ')} (one kind of key verifies tokens)`);
  const configured = parseAlgorithms(settings.jwtAlgorithms);

  if (settings.jwtSecretFile) {
    const secret = loadSecret(settings.jwtSecretFile);
    return {
      algorithms: pin(['HS256'], configured, 'SAGE_JWT_SECRET_FILE'),
      resolve: () => secret,
      description: `HS256 secret (${settings.jwtSecretFile})`,
    };
  }
  if (settings.jwtPublicKeyFile) {
    const { alg, key } = loadPublicKeyPem(settings.jwtPublicKeyFile);
    return { algorithms: pin([alg], configured, 'SAGE_JWT_PUBLIC_KEY_FILE'), resolve: () => key, description: `${alg} public key (${settings.jwtPublicKeyFile})` };
  }
  const jwks = new JwksFile(settings.jwksFile!);
  const initial = jwks.entries();
  const algorithms = pin([...new Set(initial.map((e) => e.alg))], configured, 'SAGE_JWKS_FILE');
  return {
    algorithms,
    resolve(header) {
      const entries = jwks.entries().filter((e) => e.alg === header.alg);
      if (header.kid !== undefined) {
        const match = entries.find((e) => e.kid === header.kid);
        if (!match) throw new KeySelectionError('unknown key id (kid)');
        return match.key;
      }
      if (entries.length === 1) return entries[0]!.key;
      throw new KeySelectionError('the token names no key id (kid) and the key set has several keys');
    },
    description: `JWKS with ${initial.length} key(s) for ${algorithms.join(', ')} (${jwks.path})`,
  };
}

function loadPrivateKey(path: string): SigningKey {
  const text = readBytes(path, 'SAGE_JWT_PRIVATE_KEY_FILE').toString('utf8');
  const where = `SAGE_JWT_PRIVATE_KEY_FILE=${path}`;
  let key: KeyObject;
  let kid: string | undefined;
  if (text.trimStart().startsWith('{')) {
    let jwk: Record<string, unknown>;
    try {
      jwk = JSON.parse(text) as Record<string, unknown>;
      key = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    } catch {
      throw new ConfigError(`${where} is not a private JWK (a JSON object with "d")`);
    }
    kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
  } else {
    try {
      key = createPrivateKey(text);
    } catch {
      throw new ConfigError(`${where} is not a PEM private key (-----BEGIN PRIVATE KEY-----) or a private JWK`);
    }
  }
  return { alg: algorithmOf(key, where), key, kid };
}

/** The key `sage token` signs with: SAGE_JWT_PRIVATE_KEY_FILE (EdDSA/ES256) or SAGE_JWT_SECRET_FILE (HS256). */
export function loadSigningKey(settings: KeySettings): SigningKey {
  if (settings.jwtPrivateKeyFile && settings.jwtSecretFile) {
    throw new ConfigError('set only one of SAGE_JWT_PRIVATE_KEY_FILE and SAGE_JWT_SECRET_FILE (the key to sign with)');
  }
  let signing: SigningKey;
  if (settings.jwtPrivateKeyFile) signing = loadPrivateKey(settings.jwtPrivateKeyFile);
  else if (settings.jwtSecretFile) signing = { alg: 'HS256', key: loadSecret(settings.jwtSecretFile) };
  else throw new ConfigError('no key to sign with: set SAGE_JWT_PRIVATE_KEY_FILE (EdDSA/ES256) or SAGE_JWT_SECRET_FILE (HS256)');
  const configured = parseAlgorithms(settings.jwtAlgorithms);
  if (configured && !configured.includes(signing.alg)) {
    throw new ConfigError(`the signing key is for ${signing.alg} but SAGE_JWT_ALGORITHMS allows only ${configured.join(', ')}`);
  }
  return signing;
}
