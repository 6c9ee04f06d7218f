/**
 * From verified claims to who is asking: the tenant (whose memories these are) and the scopes
 * (what they may do). Over stdio the configured tenant holds every scope; over HTTP both come
 * from the token and nowhere else.
 *
 * Scopes: memory:read (search, context, status, listing and reading sessions, resources,
 * prompts), memory:write (save, update, forget by id, create sessions), memory:admin (forget by
 * filter — bulk removal) which also grants read and write. A token's `scope` claim is a
 * space-separated string (RFC 8693, RFC 9068); `scp`, an array or string, is accepted too.
 * Unknown scopes are ignored, so a token from a shared identity provider may carry others.
 */
import type { JWTPayload } from 'jose';
import { InputError } from '../errors.ts';

export const SCOPES = ['memory:read', 'memory:write', 'memory:admin'] as const;
export type Scope = (typeof SCOPES)[number];
export const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/** Who is calling: enough to scope every query (tenant) and every operation (scopes). */
export interface Principal {
  tenant: string;
  scopes: ReadonlySet<Scope>;
  /** The token's `sub`, for logs and revocation (the tenant may come from another claim). */
  subject?: string | undefined;
  /** The token's `iat` (seconds) and `jti`, for revocation (auth/revocations.ts). */
  issuedAt?: number | undefined;
  tokenId?: string | undefined;
}

export class ClaimError extends Error {
  override name = 'ClaimError';
}

function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** Adds what a scope implies: admin may also read and write. */
export function expandScopes(scopes: Iterable<Scope>): Set<Scope> {
  const out = new Set(scopes);
  if (out.has('memory:admin')) {
    out.add('memory:read');
    out.add('memory:write');
  }
  return out;
}

export function scopesFromClaims(claims: JWTPayload): Set<Scope> {
  const names: string[] = [];
  if (typeof claims.scope === 'string') names.push(...claims.scope.split(/\s+/));
  const scp = claims.scp;
  if (typeof scp === 'string') names.push(...scp.split(/\s+/));
  else if (Array.isArray(scp)) names.push(...scp.filter((s): s is string => typeof s === 'string'));
  return expandScopes(names.filter(isScope));
}

/** A name a token carries or a person types (tenant, subject): 1 to `max` characters, no surrounding spaces, no control characters. */
export function isUsableName(value: string, max = 200): boolean {
  return value.length > 0 && value.length <= max && value.trim() === value && !/[\u0000-\u001f\u007f]/.test(value);
}

/** The tenant a token speaks for: a non-empty string claim without control characters. */
export function tenantFromClaims(claims: JWTPayload, claim: string): string {
  const value = (claims as Record<string, unknown>)[claim];
  if (typeof value !== 'string') throw new ClaimError(`the token has no "${claim}" claim naming the tenant`);
  if (!isUsableName(value)) {
    throw new ClaimError(`the token's "${claim}" claim is not a usable tenant name`);
  }
  return value;
}

export function principalFromClaims(claims: JWTPayload, tenantClaim: string): Principal {
  return {
    tenant: tenantFromClaims(claims, tenantClaim),
    scopes: scopesFromClaims(claims),
    subject: typeof claims.sub === 'string' ? claims.sub : undefined,
    issuedAt: typeof claims.iat === 'number' ? claims.iat : undefined,
    tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
  };
}

/** Parses `memory:read,memory:write` (commas or spaces) for `sage token --scope`. */
export function parseScopeList(text: string): Scope[] {
  const names = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new InputError(`--scope is empty; use one or more of ${SCOPES.join(', ')}`);
  const unknown = names.filter((n) => !isScope(n));
  if (unknown.length > 0) throw new InputError(`unknown scope ${unknown.map((u) => `"${u}"`).join(', ')}; use ${SCOPES.join(', ')}`);
  return [...new Set(names as Scope[])];
}
