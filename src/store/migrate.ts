/**
 * Applies the numbered migrations. Two processes starting at the same moment serialise on a
 * session-level advisory lock, so each migration runs exactly once; each runs in its own
 * transaction together with its row in `sage_migrations`, so a failure leaves no half schema.
 * An up-to-date database (every start but the first after an upgrade) costs one query, no lock.
 */
import type pg from 'pg';
import { log } from '../log.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';

/** Arbitrary but fixed: "sage" as ASCII in a 64-bit key, shared by every Sage version. */
const MIGRATION_LOCK_KEY = '1935763301';

/**
 * Roles are shared by every database of a cluster, but the advisory lock above is per
 * database: migrations of two databases starting together can race on creating or granting a
 * role (seen: one sees the other's role vanish under it, 42704; others are a concurrent catalog
 * update or a duplicate membership). Each migration is one transaction, so running it again
 * after the other one committed is safe.
 */
const CLUSTER_RACE_ATTEMPTS = 4;

function isClusterRace(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  switch (code) {
    case '42704': // undefined object: a role another database's migration was creating
      return /^role "/.test(message);
    case 'XX000':
      return /tuple concurrently (updated|deleted)/.test(message);
    case '23505': // unique violation (pg_authid, pg_auth_members)
    case '40001': // serialization failure
    case '40P01': // deadlock
      return true;
    default:
      return false;
  }
}

export interface MigrationReport {
  applied: number[];
  current: number;
  latestKnown: number;
}

/**
 * The versions recorded in sage_migrations, or undefined when the table does not exist yet.
 * One round trip and no lock: this is every start's check (a Claude Code hook starts a process
 * per prompt), and a complete list cannot change under it — versions are only ever added, each
 * in the transaction of its migration.
 */
async function recordedVersions(client: pg.PoolClient): Promise<Set<number> | undefined> {
  try {
    const done = await client.query<{ version: number }>('SELECT version FROM sage_migrations');
    return new Set(done.rows.map((r) => r.version));
  } catch (err) {
    if ((err as { code?: unknown }).code === '42P01') return undefined; // undefined_table: a new database
    throw err;
  }
}

function report(applied: number[], have: ReadonlySet<number>, migrations: readonly Migration[]): MigrationReport {
  const latestKnown = migrations.at(-1)?.version ?? 0;
  const current = Math.max(latestKnown, ...have);
  if (current > latestKnown) {
    log.warn('the database has migrations newer than this Sage; upgrade Sage', { database: current, sage: latestKnown });
  }
  return { applied, current, latestKnown };
}

export async function migrate(pool: pg.Pool, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const client = await pool.connect();
  // `pool` hears its connections' errors (store/db.ts listenForConnectionErrors): a connection
  // cut while a retry below waits fails the next statement instead of ending the process.
  let broken: Error | undefined;
  try {
    const recorded = await recordedVersions(client);
    if (recorded && migrations.every((m) => recorded.has(m.version))) return report([], recorded, migrations);
    // Behind (or a new database): take the lock and look again, since another process may have
    // migrated meanwhile.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      // Created only when missing: a runtime role without CREATE on the schema must still start.
      await client.query(`DO $$ BEGIN IF to_regclass('sage_migrations') IS NULL THEN CREATE TABLE sage_migrations (
        version    integer     PRIMARY KEY,
        name       text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      ); END IF; END $$`);
      const done = await client.query<{ version: number }>('SELECT version FROM sage_migrations');
      const have = new Set(done.rows.map((r) => r.version));
      const applied: number[] = [];
      for (const m of migrations) {
        if (have.has(m.version)) continue;
        for (let attempt = 1; ; attempt++) {
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO sage_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
            await client.query('COMMIT');
            break;
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            if (attempt < CLUSTER_RACE_ATTEMPTS && isClusterRace(err)) {
              log.info('migration raced with another database of this cluster; retrying', { version: m.version, attempt });
              await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
              continue;
            }
            throw new Error(`migration ${m.version} (${m.name}) failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
          }
        }
        applied.push(m.version);
        log.info('migration applied', { version: m.version, name: m.name });
      }
      return report(applied, have, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err));
      });
    }
  } finally {
    client.release(broken);
  }
}
