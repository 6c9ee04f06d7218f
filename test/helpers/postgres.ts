/**
 * Test harness for a real PostgreSQL 15 server (no mocks, never a shared server, never 5432).
 *
 * One throw-away cluster per test process (node:test runs each test file in its own process,
 * so: one cluster per test file), started lazily on first use. Each test gets its own empty
 * database via `createTestDatabase(t)`, dropped after the test.
 *
 * The cluster lives in a temp dir (`$TMPDIR/sage-pg-XXXXXX/{data,log,socket}`) and is stopped and
 * removed when the process exits, including on failure, SIGINT/SIGTERM/SIGHUP and uncaught
 * exceptions. A small detached watchdog also stops it if the process is killed with SIGKILL.
 *
 * Runs as root (initdb/pg_ctl via `runuser -u postgres`) and as a non-root user that can run
 * initdb itself. Binaries: $SAGE_PG_BINDIR, else /usr/lib/postgresql/15/bin, else `pg_config --bindir`.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface TestCluster {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust auth). */
  superuserUrl: string;
  /** Stop the server (default mode 'fast'). No-op if already stopped. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Start it again on the same port with the same data. No-op if running. */
  start(): Promise<void>;
  /** stop(mode, default 'fast') + start(); same port, same data. */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
}

export interface TestDatabase {
  /** `postgres://postgres@127.0.0.1:PORT/NAME` */
  url: string;
  name: string;
  cluster: TestCluster;
  /** Drop the database now (WITH (FORCE)); idempotent. Called automatically via t.after when t is given. */
  drop(): Promise<void>;
}

export interface AfterHook {
  after(fn: () => unknown): void;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_S = 120;
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

function findBindir(): string {
  const candidates = [process.env['SAGE_PG_BINDIR'], '/usr/lib/postgresql/15/bin'];
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'initdb'))) return dir;
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  if (dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error(
    'PostgreSQL 15 server binaries not found (looked in $SAGE_PG_BINDIR, /usr/lib/postgresql/15/bin, ' +
      '`pg_config --bindir`). Install them with: apt-get install -y postgresql-15',
  );
}

interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a PostgreSQL binary, as the `postgres` OS user when we are root. Never throws on exit code. */
function runPg(bindir: string, cwd: string, bin: string, args: string[], timeoutMs = 180_000): Promise<CmdResult> {
  const exe = join(bindir, bin);
  const [cmd, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  return new Promise((resolve) => {
    execFile(
      cmd,
      argv,
      { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: pgEnv() },
      (err, stdout, stderr) => {
        const numeric = err && typeof err.code === 'number';
        const code = err ? (numeric ? (err.code as number) : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + (err && !numeric ? `\n${err.message}` : '') });
      },
    );
  });
}

/** Environment for initdb/pg_ctl: drop PG* variables that could redirect them elsewhere. */
function pgEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PG') && k !== 'LC_ALL') env[k] = v;
  }
  return env;
}

function runPgSync(bindir: string, cwd: string, bin: string, args: string[]): void {
  const exe = join(bindir, bin);
  const [cmd, argv] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  spawnSync(cmd, argv, { cwd, stdio: 'ignore', timeout: 60_000, env: pgEnv() });
}

function postgresIds(): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('running as root but there is no `postgres` OS user (initdb refuses to run as root)');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

async function logTail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

function describe(r: CmdResult): string {
  return [r.stdout.trim(), r.stderr.trim()].filter(Boolean).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Cleanup on process exit (sync only), on signals, and a watchdog for SIGKILL.

interface Owned {
  bindir: string;
  baseDir: string;
  dataDir: string;
  watchdogPid: number | undefined;
  cleaned: boolean;
}
let owned: Owned | undefined;
/** Whether the per-process server is currently up (false after cluster.stop()). */
let clusterRunning = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Live processes working on our cluster dir: postmaster, pg_ctl, initdb, runuser (their command
 * line names `<base>/...`), and initdb's helper backends (PGDATA in their environment).
 * Zombies have an empty command line and are not listed.
 */
function pidsUsing(o: Owned): number[] {
  const inCmdline = `${o.baseDir}/`;
  const inEnviron = `PGDATA=${o.dataDir}\0`;
  const pids: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || pid === o.watchdogPid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(inCmdline)) {
        pids.push(pid);
        continue;
      }
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(inEnviron)) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function cleanupSync(): void {
  const o = owned;
  if (!o || o.cleaned) return;
  o.cleaned = true;
  try {
    // Normal case: the server is up and nothing else is in flight.
    if (existsSync(join(o.dataDir, 'postmaster.pid'))) {
      runPgSync(o.bindir, o.baseDir, 'pg_ctl', ['-D', o.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']);
    }
    // Interrupted mid-initdb / mid-pg_ctl (e.g. Ctrl-C during startup): kill whatever still works
    // on the dir, so nothing can recreate files (or a server) after we delete it.
    for (let i = 0; i < 50; i++) {
      const pids = pidsUsing(o);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      sleepSync(100);
    }
  } catch {
    // best effort
  }
  for (let i = 0; i < 20; i++) {
    try {
      rmSync(o.baseDir, { recursive: true, force: true });
      break;
    } catch {
      sleepSync(100);
    }
  }
  if (o.watchdogPid) {
    try {
      process.kill(o.watchdogPid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupSync();
  // If we are the only handler, restore the default behaviour (die by the signal).
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

function installCleanup(o: Owned): void {
  owned = o;
  process.once('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  // Watchdog: if this process dies without running its exit handlers (SIGKILL, OOM), stop the
  // cluster and remove the dir. Detached + ignored stdio so it never holds the test runner up.
  // Paths go through the environment, not argv, so `pkill -f` below does not match the watchdog.
  const script = [
    'while kill -0 "$SAGE_WD_PID" 2>/dev/null; do sleep 1; done',
    'data="$SAGE_WD_DIR/data"',
    'if [ -f "$data/postmaster.pid" ]; then',
    '  if [ "$SAGE_WD_RUNAS" = 1 ]; then runuser -u postgres -- "$SAGE_WD_PGCTL" -D "$data" -m immediate -w -t 30 stop',
    '  else "$SAGE_WD_PGCTL" -D "$data" -m immediate -w -t 30 stop; fi',
    'fi',
    'if command -v pkill >/dev/null 2>&1; then pkill -KILL -f -- "$SAGE_WD_DIR/" && sleep 1; fi',
    'rm -rf "$SAGE_WD_DIR"',
  ].join('\n');
  try {
    const child = spawn('/bin/sh', ['-c', script, 'sage-pg-watchdog'], {
      detached: true,
      stdio: 'ignore',
      cwd: '/',
      env: {
        PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        SAGE_WD_PID: String(process.pid),
        SAGE_WD_DIR: o.baseDir,
        SAGE_WD_PGCTL: join(o.bindir, 'pg_ctl'),
        SAGE_WD_RUNAS: IS_ROOT ? '1' : '0',
      },
    });
    child.on('error', () => {});
    child.unref();
    o.watchdogPid = child.pid;
  } catch {
    // the exit handler still covers normal exits
  }
}

// ---------------------------------------------------------------------------------------------

async function initdb(bindir: string, baseDir: string, dataDir: string): Promise<void> {
  const common = ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'];
  const first = await runPg(bindir, baseDir, 'initdb', [...common, '--locale=C.UTF-8']);
  if (first.code === 0) return;
  // C.UTF-8 may be missing on some systems: wipe and retry with plain C.
  await rm(dataDir, { recursive: true, force: true });
  const second = await runPg(bindir, baseDir, 'initdb', [...common, '--locale=C']);
  if (second.code === 0) return;
  throw new Error(
    `initdb failed (as ${IS_ROOT ? 'postgres via runuser' : 'current user'}) in ${dataDir}\n` +
      `--- with --locale=C.UTF-8 (exit ${first.code}):\n${describe(first)}\n` +
      `--- with --locale=C (exit ${second.code}):\n${describe(second)}`,
  );
}

function pgCtlStart(bindir: string, baseDir: string, dataDir: string, logFile: string, port: number): Promise<CmdResult> {
  const opts = [
    `-p ${port}`,
    `-k ${baseDir}`,
    `-c listen_addresses=${HOST}`,
    // Speed: no fsync and no full-page images are safe here because only the postgres process can
    // crash, never the OS. synchronous_commit stays ON on purpose: with it off, transactions
    // committed in the last ~200 ms vanish on `stop('immediate')`, which fault tests rely on.
    '-c fsync=off',
    '-c full_page_writes=off',
  ].join(' ');
  return runPg(bindir, baseDir, 'pg_ctl', ['-D', dataDir, '-o', opts, '-l', logFile, '-w', '-t', String(START_TIMEOUT_S), 'start'], (START_TIMEOUT_S + 30) * 1000);
}

async function startCluster(): Promise<TestCluster> {
  const t0 = performance.now();
  const bindir = findBindir();
  const baseDir = await mkdtemp(join(tmpdir(), 'sage-pg-'));
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'log');
  const o: Owned = { bindir, baseDir, dataDir, watchdogPid: undefined, cleaned: false };
  installCleanup(o);

  // Unix sockets are limited to ~107 bytes; fail clearly instead of a cryptic postgres error.
  if (join(baseDir, '.s.PGSQL.65535.lock').length > 100) {
    throw new Error(`temp dir path too long for a unix socket: ${baseDir} (set TMPDIR to a shorter path)`);
  }
  if (IS_ROOT) {
    const { uid, gid } = postgresIds();
    await chown(baseDir, uid, gid);
  }

  await initdb(bindir, baseDir, dataDir);
  const tInit = performance.now();

  let port = 0;
  let lastError = '';
  for (let attempt = 1; attempt <= 8; attempt++) {
    port = await freePort();
    if (port === 5432) continue;
    const r = await pgCtlStart(bindir, baseDir, dataDir, logFile, port);
    if (r.code === 0) {
      lastError = '';
      break;
    }
    const tail = await logTail(logFile);
    lastError = `pg_ctl start on port ${port} failed (exit ${r.code}):\n${describe(r)}\n--- tail of ${logFile}:\n${tail}`;
    if (!/address already in use|could not create any TCP\/IP sockets|could not bind/i.test(tail + r.stdout + r.stderr)) break;
    // port collision with another process: make sure nothing half-started remains, pick another
    runPgSync(bindir, baseDir, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
  }
  if (lastError) throw new Error(`could not start the test PostgreSQL cluster.\n${lastError}`);

  if (process.env['SAGE_PG_DEBUG']) {
    const total = performance.now() - t0;
    console.error(`[postgres harness] initdb ${(tInit - t0).toFixed(0)} ms, start ${(performance.now() - tInit).toFixed(0)} ms, total ${total.toFixed(0)} ms, port ${port}, dir ${baseDir}`);
  }

  clusterRunning = true;
  const cluster: TestCluster = {
    host: HOST,
    port,
    dataDir,
    superuserUrl: `postgres://postgres@${HOST}:${port}/postgres`,
    async stop(mode = 'fast') {
      if (!clusterRunning) return;
      const r = await runPg(bindir, baseDir, 'pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
      if (r.code !== 0) {
        throw new Error(`pg_ctl stop -m ${mode} failed (exit ${r.code}):\n${describe(r)}\n--- tail of ${logFile}:\n${await logTail(logFile)}`);
      }
      clusterRunning = false;
    },
    async start() {
      if (clusterRunning) return;
      const r = await pgCtlStart(bindir, baseDir, dataDir, logFile, port);
      if (r.code !== 0) {
        throw new Error(`pg_ctl start on port ${port} failed (exit ${r.code}):\n${describe(r)}\n--- tail of ${logFile}:\n${await logTail(logFile)}`);
      }
      clusterRunning = true;
    },
    async restart(mode = 'fast') {
      await cluster.stop(mode);
      await cluster.start();
    },
  };
  return cluster;
}

let clusterPromise: Promise<TestCluster> | undefined;

/** The per-process test cluster, started on first call. */
export function getCluster(): Promise<TestCluster> {
  clusterPromise ??= startCluster();
  return clusterPromise;
}

/** Run one statement as superuser on the `postgres` database with a short-lived connection. */
export async function adminQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const cluster = await getCluster();
  const client = new pg.Client({ connectionString: cluster.superuserUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A short-lived connection to `url` for `work` (a test's own view of a database, as any role). */
export async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` with another user name (test clusters trust local connections). */
export function urlAs(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  return u.href;
}

let dbCounter = 0;

/**
 * A fresh, empty database on the shared per-process cluster. Dropped (WITH (FORCE)) after the
 * test when `t` is given (t.after); otherwise call `db.drop()` yourself, or leave it: the whole
 * cluster is deleted when the process exits.
 */
export async function createTestDatabase(t?: AfterHook): Promise<TestDatabase> {
  const cluster = await getCluster();
  const name = `sage_test_${++dbCounter}_${Math.random().toString(36).slice(2, 8)}`;
  const ident = pg.escapeIdentifier(name);
  await adminQuery(`CREATE DATABASE ${ident} TEMPLATE template0 ENCODING 'UTF8' STRATEGY FILE_COPY`);
  let dropped = false;
  const db: TestDatabase = {
    url: `postgres://postgres@${HOST}:${cluster.port}/${name}`,
    name,
    cluster,
    async drop() {
      if (dropped) return;
      dropped = true;
      // If a fault test left the server stopped, the database goes away with the cluster at exit.
      if (!clusterRunning) return;
      await adminQuery(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
    },
  };
  t?.after(() => db.drop());
  return db;
}
