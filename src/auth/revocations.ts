/**
 * Which verified tokens have been revoked (`sage revoke`, store/revocations.ts): one token by its
 * jti, or every token of a subject issued before a moment. `sage serve` checks every request's
 * token against its copy of the list after verifying it (the verified-token cache does not skip
 * this), and reads the recent rows again when its copy is older than `maxAgeMs` — so a
 * revocation takes effect within that long, on every replica, with no restart.
 *
 * When the list cannot be read (PostgreSQL down), the last copy stays in use and is tried again
 * after `maxAgeMs`; a server that has never read it refuses tokens as unavailable rather than
 * let a revoked one through. A token without `iat` cannot show that it is newer than a
 * revocation of its subject, so it is refused by one.
 */
import { UnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import type { RevocationRow } from '../store/revocations.ts';
import type { Principal } from './tenant.ts';

/** How old the copy of the list may be when a request is checked. */
export const REVOCATIONS_MAX_AGE_MS = 2_000;

export interface RevocationOptions {
  /**
   * Every row with no `since`; else at least those revoked at or after it — rows already seen
   * may come again (store/revocations.ts reads a minute back, as rows need not commit in order).
   */
  read(since?: Date): Promise<RevocationRow[]>;
  maxAgeMs?: number | undefined;
  /**
   * The clock the copy's age is measured with, in ms (tests move it). Monotonic by default: after
   * the wall clock was set back (NTP, a resumed laptop), a copy dated by it would look fresh until
   * the clock caught up again — revocations unread for that long.
   */
  now?: (() => number) | undefined;
}

export class RevocationList {
  readonly #read: (since?: Date) => Promise<RevocationRow[]>;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  /** subject → the latest `issued before` of its revocations, in ms. */
  readonly #subjects = new Map<string, number>();
  readonly #tokenIds = new Set<string>();
  /** The latest revoked_at read, where the next read starts. */
  #since: Date | undefined;
  /** When the list was last read, or tried and failed. */
  #checkedAt: number | undefined;
  #everRead = false;
  #failure: Error | undefined;
  #reading: Promise<void> | undefined;

  constructor(options: RevocationOptions) {
    this.#read = options.read;
    this.#maxAgeMs = options.maxAgeMs ?? REVOCATIONS_MAX_AGE_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Why `principal`'s token is revoked, or undefined when it is not. Throws UnavailableError when the list was never read. */
  async revoked(principal: Principal): Promise<string | undefined> {
    await this.#current();
    if (principal.tokenId !== undefined && this.#tokenIds.has(principal.tokenId)) return 'the token has been revoked';
    const before = principal.subject === undefined ? undefined : this.#subjects.get(principal.subject);
    if (before !== undefined && (principal.issuedAt === undefined || principal.issuedAt * 1000 < before)) {
      return `the tokens of this subject issued before ${new Date(before).toISOString()} have been revoked`;
    }
    return undefined;
  }

  async #current(): Promise<void> {
    if (this.#checkedAt === undefined || this.#now() - this.#checkedAt >= this.#maxAgeMs) {
      this.#reading ??= this.#update().finally(() => (this.#reading = undefined));
      await this.#reading;
    }
    if (!this.#everRead) {
      throw new UnavailableError(`cannot check whether the token is revoked: the revocation list cannot be read (${this.#failure?.message ?? 'not read yet'}); try again shortly`);
    }
  }

  async #update(): Promise<void> {
    try {
      for (const row of await this.#read(this.#since)) this.#add(row);
      if (this.#failure) log.info('token revocation list readable again');
      this.#failure = undefined;
      this.#everRead = true;
    } catch (err) {
      if (!this.#failure) log.warn('cannot read the token revocation list; the last copy stays in use', { error: err });
      this.#failure = err instanceof Error ? err : new Error(String(err));
    } finally {
      this.#checkedAt = this.#now();
    }
  }

  /** Idempotent: a row read again changes nothing. */
  #add(row: RevocationRow): void {
    if (this.#since === undefined || row.revokedAt > this.#since) this.#since = row.revokedAt;
    if (row.jti !== null) this.#tokenIds.add(row.jti);
    if (row.subject !== null && row.issuedBefore !== null) {
      const at = row.issuedBefore.getTime();
      this.#subjects.set(row.subject, Math.max(at, this.#subjects.get(row.subject) ?? at));
    }
  }
}
