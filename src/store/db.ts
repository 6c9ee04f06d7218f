/**
 * The connection pool and the only door to PostgreSQL. Every query runs inside a tenant
 * transaction (`tx`, `rankThenRead` or `script`) that first sets `sage.tenant` locally, so
 * row-level security can key on it and no connection ever carries one tenant's setting into
 * another's work.
 *
 * Failure paths get the care (after pg-pool): an idle client dying (Postgres restarting) emits
 * 'error' on the pool, and a checked-out or brand-new one on itself (listenForConnectionErrors),
 * either of which would crash the process if unhandled; a pool with every connection in use is
 * told apart from an unreachable server (`#busy`); connection failures become
 * UnavailableError so callers answer "try again" instead of crashing; migrations are retried
 * on the next call after a failure instead of being remembered as failed forever.
 */
import pg from 'pg';
import { ConfigError, ConflictError, UnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import { migrate, type MigrationReport } from './migrate.ts';
import { PendingListFlusher, type PendingListOptions } from './pending-lists.ts';
import { RUNTIME_ROLE } from './migrations/002_rls.ts';
import { SEARCH_ROLE } from './migrations/004_search_scale.ts';
import { enterSearchRoleSql } from './search-role.ts';

export type Client = pg.PoolClient;

export interface DatabaseOptions {
  url: string;
  max?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
  /** When the background flush of GIN pending lists runs (pending-lists.ts; tests). */
  pendingLists?: PendingListOptions;
  /** How long a transaction waits for a connection (default 5 s; tests). */
  connectTimeoutMs?: number;
}

/** SQLSTATE classes and Node errors that mean "the database is not there right now". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4])/;
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

export function isUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}

/**
 * Every connection of `pool` listens for 'error' from the moment it connects, for as long as it
 * lives. pg-pool listens only while a client is idle, so a connection that drops while it is
 * checked out (between two statements, while a migration waits to retry, during a background
 * flush) emitted an 'error' event no one heard, and an unheard 'error' ends the process. pg-pool
 * also hands a new client out from inside the driver's parse loop: when the server's "ready" and
 * its termination (57P01: a restart, a failover, pg_terminate_backend) arrive in one read, the
 * termination is emitted before the borrower could listen at all — found by terminating backends
 * while saves and searches ran (test/integration/connection-faults.test.ts). A client that erred
 * is no longer queryable: its borrower's next statement fails as unavailable, and pg-pool drops
 * it when it comes back. Every pool that migrations or the flusher use must have this.
 */
export function listenForConnectionErrors(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    client.on('error', (err) => log.debug('database connection lost', { error: err }));
  });
}

export function describeUnavailable(err: unknown): UnavailableError {
  const code = (err as { code?: unknown }).code;
  const detail = typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
  return new UnavailableError(`PostgreSQL is not reachable (${detail}); Sage keeps retrying — try again shortly`);
}

/**
 * What a person can do about an error PostgreSQL gave, as a Sage error whose message says it, or
 * undefined for an error that is Sage's own (a bug: logged, and answered as an internal error).
 * Without this a wrong password in DATABASE_URL — the commonest mistake in a setup — reached the
 * model as "Sage hit an internal error", and a full disk as "PostgreSQL is not reachable".
 * Messages name the SQLSTATE and never the connection's user, host or password: over HTTP they
 * go to remote clients.
 */
export function describeDatabaseError(err: unknown): UnavailableError | ConfigError | ConflictError | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  switch (code) {
    case '28000':
    case '28P01':
      return new ConfigError(`PostgreSQL refused Sage's login (${code}): fix the user or password in DATABASE_URL (or DATABASE_URL_FILE) where Sage is configured`);
    case '3D000':
      return new ConfigError('the database named in DATABASE_URL does not exist (3D000): create it (createdb NAME) or fix the URL where Sage is configured');
    case '25006':
      return new UnavailableError(
        'PostgreSQL takes no writes on this connection (25006): Sage is connected to a standby, or default_transaction_read_only is on; nothing was written — point DATABASE_URL at the primary',
      );
    case '53100':
      return new UnavailableError('PostgreSQL is out of disk space (53100); nothing was written — free space on the database server, then try again');
    case '53200':
      return new UnavailableError('PostgreSQL ran out of memory (53200); nothing was written — try again shortly');
    case '53300':
      return new UnavailableError(
        'PostgreSQL has no free connection slot (53300: too many clients); try again shortly, or raise max_connections on the server or lower SAGE_DB_POOL_MAX',
      );
    case '57P03':
      return new UnavailableError('PostgreSQL is starting up or recovering (57P03); try again shortly');
    case '57014':
      return /statement timeout/i.test(message)
        ? new UnavailableError('the database did not finish this within the statement timeout (57014); nothing was changed — try again, ask for less, or raise SAGE_DB_STATEMENT_TIMEOUT_MS')
        : new UnavailableError('PostgreSQL cancelled the statement (57014: an administrator or a shutdown); nothing was changed — try again');
    case '40001':
    case '40P01':
      return new ConflictError(`a concurrent change conflicted with this one (${code}); nothing was changed — try again`);
  }
  return isUnavailable(err) ? describeUnavailable(err) : undefined;
}

/**
 * Opens a transaction scoped to one tenant: BEGIN, then `sage.tenant` and the runtime role
 * (both SET LOCAL, undone at COMMIT/ROLLBACK), so row-level security applies even when Sage
 * connects as the tables' owner or a superuser (see migrations/002_rls.ts). One round trip:
 * the two statements go as one simple query, which cannot carry parameters, so the tenant is
 * sent as an escaped literal (tenant names are validated, and escapeLiteral quotes any text).
 * Every search and save pays this, so the saved round trip counts.
 */
export async function beginTenant(client: Client, tenant: string, mode = '', then?: string): Promise<void> {
  try {
    await client.query(then === undefined ? beginTenantSql(client, tenant, mode) : `${beginTenantSql(client, tenant, mode)};\n${then}`);
  } catch (err) {
    if ((err as { code?: unknown }).code === '42501') throw runtimeRoleRefused();
    throw err;
  }
}

/** BEGIN and the tenant scope: two statements, sent as (the start of) one simple query. */
function beginTenantSql(client: Client, tenant: string, mode = ''): string {
  return `BEGIN${mode}; SELECT set_config('sage.tenant', ${client.escapeLiteral(tenant)}, true), set_config('role', '${RUNTIME_ROLE}', true)`;
}

function runtimeRoleRefused(): ConfigError {
  return new ConfigError(`the database role Sage connects as may not act as ${RUNTIME_ROLE}: as an administrator run GRANT ${RUNTIME_ROLE} TO <that role>`);
}

export interface TxOptions {
  readOnly?: boolean;
  /** Read-only and REPEATABLE READ: every query of the transaction sees the same snapshot. */
  snapshot?: boolean;
}

/** What `Database.rankThenRead` hands its work. */
export interface RankedRead {
  /** The transaction's connection; its queries run as sage_search when the connected role may. */
  client: Client;
  /**
   * The last round trip: back to sage_runtime (row-level security), then `statement` — SQL
   * literals only, it goes as a simple query — then COMMIT. Returns the statement's result.
   * Call it at most once, after the ranking queries; without it the transaction commits on its own.
   */
  finish(statement: string): Promise<pg.QueryResult>;
}

export class Database {
  readonly pool: pg.Pool;
  /** Told of every memory written, it flushes the GIN pending lists off the request path (pending-lists.ts). */
  readonly pendingLists: PendingListFlusher;
  #ready: Promise<MigrationReport> | undefined;
  #closed = false;

  constructor(options: DatabaseOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      application_name: options.applicationName ?? 'sage',
      // JIT off for Sage's sessions: its queries are short, but at a million memories the
      // planner's estimates for the ranking queries reach ~255,000 (auto_explain on bench:scale
      // 1M), above jit_above_cost (100,000), so PostgreSQL would JIT-compile queries that run in
      // tens of milliseconds. Measured on the same database: PostgreSQL CPU per search 50–55 ms
      // with JIT (two runs) and 42–52 ms without (two runs) — within this machine's noise, but
      // the compile buys nothing. A startup option, so no round trip; an `options` parameter in
      // DATABASE_URL replaces it, and PGOPTIONS is kept in front of it.
      // GIN pending lists kept to 512 kB instead of 4 MB: every search (and a save's near-duplicate
      // check) reads a scoped GIN index's whole pending list, and on a large store autovacuum
      // flushes it only every 10% of the table, so it sits near the limit. A prompt hook on a
      // freshly written store of 3,003 memories spent 52 ms of PostgreSQL time against 28 ms
      // once the list was flushed. The session that inserts past the limit flushes the list, so
      // saves flush smaller lists more often; import raises the limit for its batches
      // (store/transfer.ts), where large flushes are cheaper per memory. The cost, measured with
      // 600 saves per setting interleaved on one database: save p50 3.35 vs 3.33 ms, p95 9.1 vs
      // 6.8, p99 14.4 vs 12.1, max 53 vs 135 ms (512 kB vs 4 MB).
      // A trade-off for reads: searches and hooks outnumber saves, and the worst save is shorter.
      // Since migration 007 a running Sage also flushes the lists itself in the pause after its
      // writes (pending-lists.ts), so the limit is what a burst of saves falls back on.
      options: [process.env['PGOPTIONS'], '-c jit=off -c gin_pending_list_limit=512kB'].filter(Boolean).join(' '),
    });
    this.pool.on('error', (err) => {
      // An idle client lost its connection (for example Postgres restarted). The pool drops it;
      // the next query opens a new one.
      log.warn('idle database connection lost', { error: err });
    });
    listenForConnectionErrors(this.pool);
    this.pendingLists = new PendingListFlusher(this.pool, options.pendingLists);
  }

  /** Applies pending migrations once per process; a failure is retried on the next call. */
  ready(): Promise<MigrationReport> {
    if (this.#closed) return Promise.reject(new UnavailableError('the database pool is closed'));
    if (!this.#ready) {
      const attempt = migrate(this.pool).catch((err: unknown) => {
        this.#ready = undefined;
        if ((err as { code?: unknown }).code === '42501') {
          throw new ConfigError(
            `${(err as Error).message}: connect as the owner of Sage's tables, or as a member of ${RUNTIME_ROLE} (as an administrator run GRANT ${RUNTIME_ROLE} TO <that role>)`,
          );
        }
        throw describeDatabaseError(err) ?? err;
      });
      this.#ready = attempt;
    }
    return this.#ready;
  }

  /**
   * Runs `work` in a transaction scoped to one tenant. Connection failures surface as
   * UnavailableError; other errors propagate unchanged after rollback.
   */
  async tx<T>(tenant: string, work: (client: Client) => Promise<T>, options: TxOptions = {}): Promise<T> {
    return this.#transaction(async (client) => {
      // A snapshot (an export) reads every page from one REPEATABLE READ snapshot, as pg_dump does.
      const isolation = options.snapshot ? ' ISOLATION LEVEL REPEATABLE READ' : '';
      await beginTenant(client, tenant, `${isolation}${options.readOnly || options.snapshot ? ' READ ONLY' : ''}`);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    });
  }

  /**
   * A read-only tenant transaction that ranks as sage_search and reads what it found as
   * sage_runtime (a search, a context block: store/search-role.ts for why two roles), in as few
   * round trips as the ranking needs plus two: the first is BEGIN, the tenant scope and the switch
   * to sage_search; the last (`RankedRead.finish`) the switch back, the read and COMMIT. Each
   * round trip saved is a write, a wake-up of the backend and a parse on both sides: a search of
   * a small project made eight and now makes five (bench/SCALE-LOG.md).
   */
  async rankThenRead<T>(tenant: string, work: (read: RankedRead) => Promise<T>): Promise<T> {
    return this.#transaction(async (client) => {
      await beginTenant(client, tenant, ' READ ONLY', enterSearchRoleSql(client.escapeLiteral(SEARCH_ROLE)));
      let committed = false;
      const finish = async (statement: string): Promise<pg.QueryResult> => {
        if (committed) throw new Error('RankedRead.finish: the transaction is already committed');
        const results = (await client.query(`SELECT set_config('role', '${RUNTIME_ROLE}', true);\n${statement};\nCOMMIT`)) as unknown as pg.QueryResult[];
        committed = true;
        return results[1]!;
      };
      const result = await work({ client, finish });
      if (!committed) await client.query('COMMIT');
      return result;
    });
  }

  /**
   * A transaction over server-wide data that belongs to no tenant (token revocations,
   * store/revocations.ts): as sage_runtime, like tenant work, but with no tenant set — so every
   * tenant-keyed table reads empty in it.
   */
  async serverTx<T>(work: (client: Client) => Promise<T>): Promise<T> {
    return this.#transaction(async (client) => {
      try {
        await client.query(`BEGIN; SELECT set_config('role', '${RUNTIME_ROLE}', true)`);
      } catch (err) {
        if ((err as { code?: unknown }).code === '42501') throw runtimeRoleRefused();
        throw err;
      }
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    });
  }

  /**
   * Runs `statements` in a tenant transaction in ONE round trip: BEGIN, the tenant scope, the
   * statements and COMMIT go as one simple query. The simple protocol carries no parameters, so
   * every value in them must be an SQL literal (store/memories.ts `Literals`). PostgreSQL runs
   * the statements in order and stops at the first error, leaving the transaction aborted; it is
   * rolled back as in `tx`. The answer comes after COMMIT: what it reports is on disk. Returns
   * the results of `statements`, in order. A save pays five round trips through `tx`; on a busy
   * machine each one waits to be scheduled twice (Sage, then the backend).
   */
  async script(tenant: string, statements: readonly string[]): Promise<pg.QueryResult[]> {
    try {
      return await this.#transaction(async (client) => {
        const results = (await client.query(`${beginTenantSql(client, tenant)};\n${statements.join(';\n')};\nCOMMIT`)) as unknown as pg.QueryResult[];
        return results.slice(2, 2 + statements.length);
      });
    } catch (err) {
      // The scope's role switch is the only statement here that needs a grant of the login role.
      if ((err as { code?: unknown }).code === '42501' && err instanceof Error && err.message.includes(`role "${RUNTIME_ROLE}"`)) throw runtimeRoleRefused();
      throw err;
    }
  }

  /**
   * A pooled connection for one transaction that `work` begins and commits. If `work` fails the
   * transaction is rolled back; a connection that broke (or whose rollback failed) is destroyed
   * instead of going back to the pool, and connection failures surface as UnavailableError.
   */
  async #transaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    await this.ready();
    let client: Client;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.#busy(err) ?? describeDatabaseError(err) ?? describeUnavailable(err);
    }
    // A connection that drops while it is checked out is heard by listenForConnectionErrors and
    // is no longer queryable: the next statement fails as unavailable, and pg-pool drops it.
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (err) {
      if (isUnavailable(err)) {
        broken = err instanceof Error ? err : new Error(String(err));
        throw describeDatabaseError(err) ?? describeUnavailable(err);
      }
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw describeDatabaseError(err) ?? err;
    } finally {
      // Passing an error destroys the client instead of returning a dead socket to the pool.
      client.release(broken);
    }
  }

  /**
   * pg-pool says "timeout exceeded when trying to connect" both when PostgreSQL does not answer
   * and when every connection of the pool is in use for the whole wait. The second is no outage
   * of PostgreSQL (a team's burst of calls, a slow statement holding connections), and saying
   * "not reachable" sent people to look at a healthy database.
   */
  #busy(err: unknown): UnavailableError | undefined {
    const max = this.pool.options.max;
    if (!(err instanceof Error) || !/timeout exceeded when trying to connect/i.test(err.message)) return undefined;
    if (this.pool.totalCount < max || this.pool.idleCount > 0) return undefined;
    const which = max === 1 ? 'the one database connection' : `all ${max} database connections`;
    return new UnavailableError(`${which} of this Sage ${max === 1 ? 'is' : 'are'} in use; try again shortly, or raise SAGE_DB_POOL_MAX`);
  }

  /** A cheap round trip for health checks: returns the server version and latency. */
  async ping(): Promise<{ serverVersion: string; latencyMs: number }> {
    const started = performance.now();
    try {
      const res = await this.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      return { serverVersion: res.rows[0]?.v ?? 'unknown', latencyMs: performance.now() - started };
    } catch (err) {
      throw describeDatabaseError(err) ?? err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pendingLists.close();
    await this.pool.end();
  }
}
