/**
 * Flushes the GIN pending lists of `memories` in the background, so that no save pays for it.
 *
 * With fastupdate (PostgreSQL's default, which Sage keeps: without it import was 6× slower)
 * an insert appends its index entries to each GIN index's pending list, and the insert that
 * fills a list past gin_pending_list_limit (512 kB in Sage's sessions: store/db.ts) merges the
 * whole list into the index before its transaction can commit: 36–391 ms, about every 33rd
 * save of a new turn (bench/SCALE-LOG.md). Every search also reads the pending lists of the
 * indexes it uses, whole. So a process that writes asks PostgreSQL to merge the lists itself
 * (migration 007's function, on a pooled connection no request waits on) in the first pause of
 * `delayMs` after a write, unless it wrote more than `maxWrites` in the last `windowMs`: a
 * conversation's pattern is a turn saved and then, seconds later, the next prompt's search.
 * The lists then never fill, and no save merges one. In and after a burst (an agent storing
 * many facts, saves back to back) pauses are let go by: merging what a burst left (up to 512 kB per list,
 * 100–400 ms of PostgreSQL CPU) right after it competed with the requests that followed, and
 * a search reads a list of 512 kB at no cost that shows (measured below). So the limit stays,
 * as before, for bursts and for a process that exits before its flush (a one-shot `sage
 * hook`): the timer does not keep a process alive, and `close` drops a flush not yet started.
 *
 * Measured (bench/SCALE-LOG.md), on the 10,000-memory benchmark database over HTTP: in a
 * conversation's pattern — a save, 250 ms, a search — save p95 12–20 against 18–29 ms and the
 * slowest save 26–46 against 90–343 ms, searches the same. Tried and not kept: flushing after
 * every 16 writes as well (in 300 saves back to back p95 unchanged, the slowest save worse,
 * 159–193 against 132–137 ms); flushing after a burst (bench:scale, get_context right after
 * 400 saves: p95 28–32 against 21–28 ms at 10,000, 58–66 against 37–42 at 100,000), while
 * searches over the ~512 kB lists a burst leaves were no slower (p95 25.6–28.3 against
 * 27.6–28.5 ms with the lists empty); a burst counted since the last pause rather than over
 * `windowMs`: a save stalled in another process (merging a list inline) made a pause
 * mid-burst, and the writes after it looked like a few.
 * Trade-off: a flush costs PostgreSQL the same CPU as the merge inside a save did, and small
 * flushes (a memory at a time when saves are seconds apart) cost a little more per memory.
 *
 * Failures never reach a caller. PostgreSQL away: the next write tries again. The function
 * missing or refused (a role that is not a member of sage_runtime): said once in the log, and
 * saves merge the lists inline as before.
 */
import type pg from 'pg';
import { log } from '../log.ts';
import { FLUSH_FUNCTION } from './migrations/007_pending_list_flush.ts';
import { RUNTIME_ROLE } from './migrations/002_rls.ts';

export interface PendingListOptions {
  /** Flush when no write came for this long... */
  delayMs?: number;
  /** ...unless more than `maxWrites` were written in the last `windowMs`: a burst, left to the limit. */
  maxWrites?: number;
  windowMs?: number;
}

export class PendingListFlusher {
  readonly #pool: pg.Pool;
  readonly #delayMs: number;
  readonly #maxWrites: number;
  readonly #windowMs: number;
  /** When the last maxWrites + 1 writes were noted (performance.now()), oldest first. */
  readonly #recent: number[] = [];
  /** A write came after the last flush started (so the flush that ends arms the next one). */
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #disabled = false;
  #closed = false;
  /** Flushes completed, pages they merged, failures, pauses let go after a burst (tests, diagnostics). */
  readonly stats = { flushes: 0, pages: 0, failures: 0, bursts: 0 };

  /** A flush is counting down or running: writes noted so far are not all flushed yet (tests). */
  get busy(): boolean {
    return this.#timer !== undefined || this.#running !== undefined;
  }

  constructor(pool: pg.Pool, options: PendingListOptions = {}) {
    this.#pool = pool;
    this.#delayMs = options.delayMs ?? 100;
    // A conversation saves a turn every few seconds (the save-then-search measurement above: ~4
    // a second); saves back to back come 20–40 a second per process (bench:scale).
    this.#maxWrites = options.maxWrites ?? 16;
    this.#windowMs = options.windowMs ?? 2_000;
  }

  /** A memory was written (inserted or re-indexed) and committed. */
  noteWrite(): void {
    if (this.#disabled || this.#closed) return;
    this.#dirty = true;
    this.#recent.push(performance.now());
    if (this.#recent.length > this.#maxWrites + 1) this.#recent.shift();
    // A flush in progress arms the timer again when it ends.
    if (!this.#running) this.#arm();
  }

  /** The countdown to a flush, from the last write: a flush waits for a pause in the writing. */
  #arm(): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => this.#pause(), this.#delayMs);
    this.#timer.unref();
  }

  /** Drops a flush not started yet and waits for one in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.#running;
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** No write for `delayMs`: flush, unless the writes before it were a burst. */
  #pause(): void {
    this.#timer = undefined;
    const oldest = this.#recent.length > this.#maxWrites ? this.#recent[0]! : undefined;
    if (oldest !== undefined && performance.now() - oldest < this.#windowMs) {
      this.#dirty = false;
      this.stats.bursts++;
      return;
    }
    this.#start();
  }

  #start(): void {
    if (this.#running || this.#closed) return;
    this.#dirty = false;
    this.#running = this.#flush().finally(() => {
      this.#running = undefined;
      // Writes that came in meanwhile: their own pause from now.
      if (this.#dirty && !this.#closed && !this.#disabled) this.#arm();
    });
  }

  async #flush(): Promise<void> {
    const started = performance.now();
    let client: pg.PoolClient | undefined;
    let broken: Error | undefined;
    // A connection dropped mid-flush (PostgreSQL restarting, the database dropped) is heard by the
    // pool's listenForConnectionErrors (store/db.ts); the flush fails and the connection goes.
    try {
      client = await this.#pool.connect();
      // As sage_runtime, the role the function is granted to, whichever role Sage logs in as.
      const results = (await client.query(
        `BEGIN; SELECT set_config('role', '${RUNTIME_ROLE}', true); SELECT ${FLUSH_FUNCTION}() AS pages; COMMIT`,
      )) as unknown as pg.QueryResult<{ pages: string }>[];
      const pages = Number(results[2]?.rows[0]?.pages ?? 0);
      this.stats.flushes++;
      this.stats.pages += pages;
      log.debug('gin pending lists flushed', { pages, ms: Math.round(performance.now() - started) });
    } catch (err) {
      this.stats.failures++;
      // The connection is dropped rather than rolled back: a flush is rare, and a failed one may
      // have lost its connection already.
      broken ??= err instanceof Error ? err : new Error(String(err));
      const code = (err as { code?: unknown }).code;
      if (code === '42501' || code === '42883') {
        // insufficient_privilege or undefined_function: nothing a retry changes.
        this.#disabled = true;
        log.warn('cannot flush GIN pending lists in the background; saves flush them inline', {
          error: err,
          fix: `GRANT ${RUNTIME_ROLE} TO the role Sage connects as (migration 007 grants EXECUTE on ${FLUSH_FUNCTION} to ${RUNTIME_ROLE})`,
        });
      } else {
        log.debug('gin pending list flush failed; the next write tries again', { error: err });
      }
    } finally {
      client?.release(broken);
    }
  }
}
