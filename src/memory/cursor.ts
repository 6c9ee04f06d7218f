/**
 * Opaque pagination cursors. A cursor carries the offset and a fingerprint of the request it
 * belongs to, so a cursor replayed against a different query is refused instead of silently
 * returning an unrelated page.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.ts';

export function fingerprint(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('base64url').slice(0, 16);
}

export function encodeCursor(offset: number, request: unknown): string {
  return Buffer.from(JSON.stringify({ o: offset, f: fingerprint(request) })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, request: unknown): number {
  if (cursor === undefined || cursor === '') return 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InputError('cursor is not valid: pass next_cursor exactly as returned');
  }
  const { o, f } = (parsed ?? {}) as { o?: unknown; f?: unknown };
  if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || typeof f !== 'string') {
    throw new InputError('cursor is not valid: pass next_cursor exactly as returned');
  }
  if (f !== fingerprint(request)) throw new InputError('cursor belongs to a different request: repeat the same query and filters, or omit the cursor');
  return o;
}
