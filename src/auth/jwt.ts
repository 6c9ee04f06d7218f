/**
 * Verifying and minting JWTs with jose. Verification pins the algorithms (from the key, see
 * keys.ts), requires `exp`, honours `nbf` and `iat` with a small clock tolerance, checks `iss`
 * and `aud` when configured, and caps the token's size before any parsing. Every failure is a
 * TokenError whose description is safe to send to the client and to log: it never contains
 * the token or any part of it.
 *
 * Verified tokens are cached (see createVerifier): a client sends the same token with every
 * request, and over stateless HTTP every request is verified.
 */
import { createHash, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { InputError } from '../errors.ts';
import { KeySelectionError, type SigningKey, type TokenHeader, type VerificationKeys } from './keys.ts';
import { ClaimError, principalFromClaims, type Principal, type Scope } from './tenant.ts';

/** Seconds of clock skew tolerated for exp, nbf and iat. */
export const CLOCK_TOLERANCE_S = 30;
/** Tokens above this are refused unread (a real one is well under 2 KiB). */
export const MAX_TOKEN_BYTES = 8192;
/** The longest lifetime `sage token` mints. */
export const MAX_TTL_S = 366 * 24 * 3600;

/** A token was refused. `description` is safe to show (RFC 6750 error_description). */
export class TokenError extends Error {
  override name = 'TokenError';
  readonly code = 'invalid_token';
}

/** How long a verified token is served from the cache at most (also bounded by its exp). */
export const TOKEN_CACHE_MAX_AGE_MS = 60_000;
/** Verified tokens remembered at most; the least recently used goes first. */
export const TOKEN_CACHE_ENTRIES = 1000;

export interface VerifierOptions {
  keys: VerificationKeys;
  issuer?: string | undefined;
  audience?: string | undefined;
  tenantClaim: string;
  /** Bounds of the verified-token cache; `false` verifies every time. */
  cache?: { entries: number; maxAgeMs: number } | false | undefined;
  /** The clock in ms since the epoch, for the claims (tests move it). */
  now?: (() => number) | undefined;
  /**
   * A monotonic clock in ms, for how long a token is served from the cache (tests move it): by the
   * wall clock, set back (an NTP step, a resumed laptop), a cached token outlived maxAgeMs by as much.
   */
  elapsed?: (() => number) | undefined;
}

export type Verifier = (token: string) => Promise<Principal>;

function describe(err: unknown): string {
  if (err instanceof TokenError || err instanceof ClaimError || err instanceof KeySelectionError) return err.message;
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'exp':
        return err.reason === 'missing' ? 'the token has no expiry (exp)' : 'the token has an invalid expiry (exp)';
      case 'nbf':
        return 'the token is not valid yet (nbf)';
      case 'iat':
        return 'the token has an invalid issue time (iat)';
      case 'iss':
        return 'the token was issued by someone else (iss)';
      case 'aud':
        return 'the token is for another audience (aud)';
      default:
        return `the token's "${err.claim}" claim is invalid`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this server does not accept';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JOSENotSupported) return 'the token uses an unsupported algorithm or header';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'the token is malformed';
  if (err instanceof TypeError) return 'the token does not match the key type';
  return 'the token could not be verified';
}

interface Verified {
  principal: Principal;
  /** The token's exp in epoch ms: past it, the cache does not answer (the wall clock judges expiry). */
  expires: number;
  /** Until when, on the monotonic clock, the cache may answer for this token without verifying it again. */
  until: number;
}

/**
 * Verifies tokens, and remembers the ones that passed: a client sends the same token with every
 * request, and each verification costs a signature check and a claims parse. An entry is keyed
 * by the SHA-256 of the whole token (a token differing in any byte is another key, and no raw
 * token is kept in memory), holds exactly the Principal verification returned, and lives until
 * the token's exp or for TOKEN_CACHE_MAX_AGE_MS, whichever comes first; after its exp the token
 * is verified again, so expiry is judged as without the cache (including the clock tolerance).
 * A refused token is never cached. The cache is bounded (least recently used out first).
 *
 * The trade-off: what a cached token was checked against is the key set and claims rules at the
 * time it was verified. A key removed from the JWKS file keeps the tokens it signed (and already
 * seen) valid for at most TOKEN_CACHE_MAX_AGE_MS more. Revocations (`sage revoke`) are not
 * subject to this cache: the HTTP server checks every principal against them (auth/revocations.ts).
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const { keys } = options;
  const now = options.now ?? Date.now;
  const elapsed = options.elapsed ?? (() => performance.now());
  const bounds = options.cache === undefined ? { entries: TOKEN_CACHE_ENTRIES, maxAgeMs: TOKEN_CACHE_MAX_AGE_MS } : options.cache;
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently used first.
  const cache = new Map<string, Verified>();

  const verify = async (token: string): Promise<Verified> => {
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) throw new TokenError('the token is not a compact JWS (header.payload.signature)');
    const at = now();
    const { payload } = await jwtVerify(token, (header: TokenHeader) => keys.resolve(header), {
      algorithms: keys.algorithms,
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp'],
      currentDate: new Date(at),
    });
    // jose checks iat only together with maxTokenAge; a token issued in the future is refused here.
    if (payload.iat !== undefined && payload.iat > at / 1000 + CLOCK_TOLERANCE_S) throw new TokenError('the token has an issue time (iat) in the future');
    // Frozen: one cached Principal answers many requests, and none may change it for the others.
    const principal = Object.freeze(principalFromClaims(payload, options.tenantClaim));
    // requiredClaims made jose check that exp is a number.
    return { principal, expires: (payload.exp as number) * 1000, until: elapsed() + (bounds ? bounds.maxAgeMs : 0) };
  };

  return async (token) => {
    if (token.length > MAX_TOKEN_BYTES) throw new TokenError(`the token is larger than ${MAX_TOKEN_BYTES} bytes`);
    const key = bounds ? createHash('sha256').update(token).digest('base64url') : '';
    if (bounds) {
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key);
        if (now() < hit.expires && elapsed() < hit.until) {
          cache.set(key, hit);
          return hit.principal;
        }
      }
    }
    let verified: Verified;
    try {
      verified = await verify(token);
    } catch (err) {
      throw new TokenError(describe(err), { cause: err });
    }
    if (bounds && bounds.entries > 0 && now() < verified.expires && elapsed() < verified.until) {
      cache.set(key, verified);
      if (cache.size > bounds.entries) cache.delete(cache.keys().next().value!);
    }
    return verified.principal;
  };
}

/** Parses a lifetime such as 30d, 12h, 15m, 90s (or plain seconds). */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(text.trim());
  if (!m) throw new InputError(`--ttl "${text}" is not a duration such as 30d, 12h, 15m or 3600s`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  const seconds = Number(m[1]) * unit;
  if (seconds < 60 || seconds > MAX_TTL_S) throw new InputError('--ttl must be from 1 minute to 366 days');
  return seconds;
}

export interface MintOptions {
  subject: string;
  scopes: readonly Scope[];
  ttlSeconds: number;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Extra claims, e.g. the tenant claim when it is not `sub`. */
  claims?: Record<string, string> | undefined;
}

export async function mintToken(signing: SigningKey, options: MintOptions): Promise<string> {
  const payload: JWTPayload = { ...options.claims, scope: options.scopes.join(' ') };
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: signing.alg, typ: 'JWT', ...(signing.kid ? { kid: signing.kid } : {}) })
    .setSubject(options.subject)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(signing.key);
}
