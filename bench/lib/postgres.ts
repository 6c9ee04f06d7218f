/**
 * PostgreSQL for benchmarks: a fresh database either on DATABASE_URL's server (when set) or on
 * the test harness's throw-away cluster (test/helpers/postgres.ts), restarted with benchmark
 * settings.
 *
 * The harness starts its cluster with fsync=off and full_page_writes=off on the command line
 * (fast tests, and only the postgres process can crash there). Command-line settings beat
 * ALTER SYSTEM, so for a benchmark the cluster is stopped through the harness and started
 * again here, on the same data directory, port and socket directory, with durable defaults
 * (fsync, full_page_writes and synchronous_commit on: every save waits for its WAL flush, as
 * in production) and memory sized for a small dedicated server. The harness still owns the
 * cluster's lifetime: it stops it and deletes the directory when the process exits (it looks
 * for postmaster.pid, not at who started it), also on failure and SIGKILL (its watchdog).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, getCluster } from '../../test/helpers/postgres.ts';

/** Server settings of the benchmark cluster (documented in the README's "Scale" section). */
export const BENCH_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'on',
  full_page_writes: 'on',
  synchronous_commit: 'on',
  shared_buffers: '512MB',
  effective_cache_size: '4GB',
  maintenance_work_mem: '256MB',
  // Bulk loads write a lot of WAL; fewer checkpoints during the import (no effect on durability).
  max_wal_size: '8GB',
  checkpoint_timeout: '15min',
};

/** Settings reported with the results, whichever server is used. */
export const REPORTED_SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'maintenance_work_mem',
  'random_page_cost',
  'jit',
  'max_wal_size',
] as const;

export interface BenchDatabase {
  url: string;
  /** Where the server came from: "harness cluster (benchmark settings)" or "DATABASE_URL". */
  server: string;
  drop(): Promise<void>;
}

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

function bindir(): string {
  for (const dir of [process.env['SAGE_PG_BINDIR'], '/usr/lib/postgresql/15/bin']) {
    if (dir && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (r.status === 0 && existsSync(join(r.stdout.trim(), 'pg_ctl'))) return r.stdout.trim();
  throw new Error('PostgreSQL 15 server binaries not found ($SAGE_PG_BINDIR, /usr/lib/postgresql/15/bin, pg_config --bindir)');
}

function pgCtl(args: string[]): Promise<void> {
  const exe = join(bindir(), 'pg_ctl');
  const [cmd, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: 180_000, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pg_ctl ${args.at(-1)} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

let restarted: Promise<void> | undefined;

/** Restarts the harness cluster once with BENCH_SETTINGS. */
async function benchCluster(): Promise<void> {
  restarted ??= (async () => {
    const cluster = await getCluster();
    await cluster.stop('fast');
    const base = dirname(cluster.dataDir);
    const settings = Object.entries(BENCH_SETTINGS).map(([k, v]) => `-c ${k}=${v}`);
    const opts = [`-p ${cluster.port}`, `-k ${base}`, `-c listen_addresses=${cluster.host}`, ...settings].join(' ');
    await pgCtl(['-D', cluster.dataDir, '-o', opts, '-l', join(base, 'log'), '-w', '-t', '120', 'start']);
  })();
  return restarted;
}

/**
 * A fresh, empty database for one benchmark run. On DATABASE_URL's server only: `keep` leaves
 * it in place afterwards (its name is logged), `reuse` names an existing one (loaded by an
 * earlier run with `keep`) to measure again without importing. `durable: false` keeps the
 * harness cluster's fast test settings: for benchmarks that measure results, not time
 * (the recall benchmark), the restart would only cost seconds.
 */
export async function benchDatabase(
  label: string,
  options: { keep?: boolean; reuse?: string | undefined; durable?: boolean } = {},
): Promise<BenchDatabase> {
  const serverUrl = process.env['DATABASE_URL'];
  if ((options.keep || options.reuse) && !serverUrl) throw new Error('--keep-db and --reuse-db need DATABASE_URL (the harness cluster is deleted when the benchmark exits)');
  if (!serverUrl) {
    const durable = options.durable ?? true;
    if (durable) await benchCluster();
    const db = await createTestDatabase();
    return { url: db.url, server: durable ? 'harness cluster (benchmark settings)' : 'harness cluster (test settings)', drop: () => db.drop() };
  }
  const name = options.reuse ?? `sage_bench_${label}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: serverUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => {});
    }
  };
  // template0 with UTF8: the server's template1 may have another encoding, and texts are not ASCII.
  if (!options.reuse) await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const keep = options.keep || options.reuse !== undefined;
  if (keep) process.stderr.write(`[bench] database ${name} is kept (reuse it with --reuse-db ${name})\n`);
  return {
    url: url.toString(),
    server: 'DATABASE_URL',
    drop: () => (keep ? Promise.resolve() : admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)),
  };
}

/** The server settings that matter to the results, as `name=value`. */
export async function serverSettings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const res = await client.query<{ name: string; setting: string }>(
      `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[])`,
      [REPORTED_SETTINGS],
    );
    return Object.fromEntries(REPORTED_SETTINGS.map((n) => [n, res.rows.find((r) => r.name === n)?.setting ?? '?']));
  } finally {
    await client.end().catch(() => {});
  }
}
