// npm run bench:scale -- --sizes 10000[,100000,1000000] [--json] [--queries 300] [--no-http]
//
// Sage at scale, one fresh database per size:
//   1. A deterministic synthetic corpus (bench/lib/corpus.ts) is written as a Sage export
//      (JSONL, cached under .tmp/bench-scale/) and bulk-loaded through Sage's import path
//      (importJsonl, what `sage import` runs): import throughput = memories / wall seconds.
//      Then VACUUM ANALYZE, as autovacuum would do after a bulk load.
//   2. `sage serve` is started as its own process; a token is minted with `sage token`; the MCP
//      SDK client connects over Streamable HTTP. Each known-answer query is asked through the
//      search_memory tool over HTTP and through MemoryService.search in this process (one
//      after the other, in random order), after a warm-up: the gap is the protocol's cost.
//   3. save_conversation (new turns into existing sessions) and get_context over HTTP, and the
//      same calls on the service.
//   4. Sage's RSS: VmRSS and VmHWM (peak) of the serve process; PostgreSQL bytes per memory:
//      pg_total_relation_size(memories) + (sessions), divided by the number of memories.
// Latencies are single-client (one request at a time), in milliseconds, as percentiles.
// PostgreSQL: the test harness's throw-away cluster restarted with durable benchmark settings
// (bench/lib/postgres.ts), or DATABASE_URL's server when set.
// With --json, one line per size (GUIDE.md §4):
//   {"size":N,"import_per_s":x,"search_p50_ms":x,"search_p95_ms":x,"save_p95_ms":x,"context_p95_ms":x,"rss_mib":x,"bytes_per_memory":x,...}
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setLogLevel } from '../src/log.ts';
import { MemoryService } from '../src/memory/service.ts';
import { importJsonl } from '../src/memory/transfer.ts';
import { Database } from '../src/store/db.ts';
import { DEFAULT_DIMENSION } from '../src/vectorize/index.ts';
import { Rng, type KnownQuery } from './lib/corpus.ts';
import { corpusFiles } from './lib/corpus-file.ts';
import { benchDatabase, serverSettings } from './lib/postgres.ts';
import { startServe, type Served } from './lib/serve.ts';
import { latency, round, timed, type Latency } from './lib/stats.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = join(ROOT, '.tmp', 'bench-scale');
const TENANT = 'bench';
const USAGE =
  'usage: npm run bench:scale -- --sizes N[,N...] [--json] [--queries 300] [--saves 200] [--contexts 100] [--warmup 40] [--seed 1] [--binary dist/sage] [--no-http] [--cache DIR]';

/** Targets of issue 7, on a 2-core machine with PostgreSQL on the same machine. */
const TARGETS = {
  searchP95Ms: (size: number) => (size <= 10_000 ? 15 : size <= 100_000 ? 25 : 150),
  saveP95Ms: 10,
  importPerS: 2000,
  /** The issue's "≤ 120 MB" is decimal megabytes: 120,000,000 bytes = 114.4 MiB. */
  rssMiB: round((120 * 1e6) / 2 ** 20, 1),
};

function fail(message: string): never {
  process.stderr.write(`bench:scale: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  let values;
  try {
    values = parseArgs({
      options: {
        sizes: { type: 'string', default: '10000' },
        json: { type: 'boolean', default: false },
        queries: { type: 'string', default: '300' },
        saves: { type: 'string', default: '200' },
        contexts: { type: 'string', default: '100' },
        warmup: { type: 'string', default: '40' },
        seed: { type: 'string', default: '1' },
        'no-http': { type: 'boolean', default: false },
        binary: { type: 'string' },
        // The corpus cache is shared by everyone running from this tree: a run with other
        // --queries/--saves rewrites it. A private directory keeps a kept database (--keep-db)
        // and its known answers in step.
        cache: { type: 'string', default: CACHE },
        'keep-db': { type: 'boolean', default: false },
        'reuse-db': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, text: string, min: number) => {
    const n = Number(text.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) fail(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
    return n;
  };
  return {
    sizes: values.sizes.split(',').map((s) => int('sizes', s.trim(), 1000)),
    json: values.json,
    queries: int('queries', values.queries, 1),
    saves: int('saves', values.saves, 1),
    contexts: int('contexts', values.contexts, 1),
    warmup: int('warmup', values.warmup, 0),
    seed: int('seed', values.seed, 0),
    http: !values['no-http'],
    binary: values.binary,
    cache: resolve(values.cache),
    keepDb: values['keep-db'],
    reuseDb: values['reuse-db'],
  };
}

type Options = ReturnType<typeof parse>;

function progress(message: string): void {
  process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// One size

interface SizeResult {
  size: number;
  import_per_s: number | null;
  search_p50_ms: number | null;
  search_p95_ms: number | null;
  save_p95_ms: number | null;
  context_p95_ms: number | null;
  rss_mib: number | null;
  bytes_per_memory: number;
  search_p99_ms: number | null;
  save_p50_ms: number | null;
  service_search_p50_ms: number;
  service_search_p95_ms: number;
  service_search_p99_ms: number;
  service_save_p50_ms: number;
  service_save_p95_ms: number;
  service_context_p95_ms: number;
  rss_end_mib: number | null;
  import_seconds: number | null;
  /**
   * CPU per imported memory in ms: this process (reading, parsing, deriving, sending) and the
   * import's PostgreSQL backends (from /proc; null when the server is not local).
   */
  import_cpu_sage_ms: number | null;
  import_cpu_pg_ms: number | null;
  vacuum_seconds: number | null;
  memories: number;
  queries: number;
  /** CPU per search over HTTP (clock ticks of 10 ms summed over all searches): Sage, PostgreSQL. */
  search_cpu_sage_ms: number | null;
  search_cpu_pg_ms: number | null;
  /**
   * CPU of this process (the benchmark's SDK client) per HTTP search. It runs on the same cores
   * and inside the measured latency. With one request at a time, client, Sage and PostgreSQL
   * mostly take turns, so the mean latency (`search_mean_ms`) is close to the sum of the three
   * (`search_cpu_serial_ms`): what is left to cut is CPU, not waiting.
   */
  search_cpu_client_ms: number | null;
  search_cpu_serial_ms: number | null;
  search_mean_ms: number | null;
  /** CPU per save_conversation over HTTP, counted the same way: Sage, PostgreSQL. */
  save_cpu_sage_ms: number | null;
  save_cpu_pg_ms: number | null;
  sage_command: string;
  known_hit_at_10: number;
  known_hit_at_10_by_flavour: Record<string, number>;
  load_avg_1m: [number, number];
}

interface SearchHitLike {
  id: string;
}

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0; // gone (a pooled connection closed): its time is lost, not counted twice
  }
}
const CLOCK_TICKS = 100;

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ text?: string }> }).content ?? [];
  return content.map((c) => c.text ?? '').join(' ');
}

async function callTool(served: Served, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await served.client.callTool({ name, arguments: args });
  if (result.isError) throw new Error(`${name} failed over HTTP: ${textOf(result)}`);
  return result.structuredContent as Record<string, unknown>;
}

async function runSize(size: number, opts: Options): Promise<SizeResult> {
  const files = await corpusFiles({ dir: opts.cache, size, seed: opts.seed, queries: opts.queries, warmup: opts.warmup, extra: opts.saves * 2, tenant: TENANT, log: progress });
  const bench = await benchDatabase(`s${size}`, { reuse: opts.reuseDb, keep: opts.keepDb });
  const db = new Database({ url: bench.url, max: 4, applicationName: 'sage-bench-scale', statementTimeoutMs: 3_600_000 });
  let served: Served | undefined;
  try {
    await db.ready();
    const service = new MemoryService(db, { dimension: DEFAULT_DIMENSION });

    // 1. Import through Sage's import path (skipped with --reuse-db: a database loaded before).
    let importSeconds = Number.NaN;
    let vacuumSeconds = Number.NaN;
    let importCpuSage = Number.NaN;
    let importCpuPg = Number.NaN;
    if (opts.reuseDb) {
      const n = (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM memories')).rows[0]!.n;
      progress(`${size}: reusing database ${opts.reuseDb} (${n} memories; import not measured)`);
    } else {
      progress(`${size}: importing`);
      // The import's backends: this process's pool (any new ones start from zero CPU).
      const poolBackends = async () =>
        (await db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'sage-bench-scale'`)).rows.map((r) => r.pid);
      const pg0 = (await poolBackends()).reduce((sum, pid) => sum + cpuMs(pid), 0);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let lastReport = t0;
      const summary = await importJsonl({ db, tenant: TENANT, dimension: DEFAULT_DIMENSION }, createReadStream(files.jsonl, { highWaterMark: 1 << 20 }), {
        onProgress: (s) => {
          const now = performance.now();
          if (now - lastReport > 30_000) {
            lastReport = now;
            progress(`${size}: imported ${s.imported} (${Math.round(s.imported / ((now - t0) / 1000))}/s, load avg ${os.loadavg()[0]!.toFixed(1)})`);
          }
        },
      });
      importSeconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      importCpuSage = (cpu.user + cpu.system) / 1000 / size;
      const backends = await poolBackends();
      if (backends.length > 0 && existsSync(`/proc/${backends[0]}/stat`)) importCpuPg = (backends.reduce((sum, pid) => sum + cpuMs(pid), 0) - pg0) / size;
      if (summary.imported !== size) throw new Error(`imported ${summary.imported} of ${size} memories (duplicates ${summary.duplicates}, skipped ${summary.skipped})`);
      progress(`${size}: imported in ${importSeconds.toFixed(1)}s (${Math.round(size / importSeconds)}/s); vacuum analyze`);
      const v0 = performance.now();
      await db.pool.query('VACUUM (ANALYZE) memories, sessions');
      vacuumSeconds = (performance.now() - v0) / 1000;
    }

    // 2. Serve over HTTP.
    if (opts.http) {
      progress(`${size}: starting sage serve`);
      served = await startServe({ databaseUrl: bench.url, tenant: TENANT, project: files.queries[0]?.project ?? 'default', binary: opts.binary });
    }
    const load0 = os.loadavg()[0]!;

    const serviceSearch = (q: KnownQuery) => service.search({ tenant: TENANT, project: q.project }, { query: q.query, limit: 10 });
    const httpSearch = (q: KnownQuery) => callTool(served!, 'search_memory', { query: q.query, project: q.project, limit: 10 });

    progress(`${size}: warm-up (${files.warmup.length} queries)`);
    for (const q of files.warmup) {
      await serviceSearch(q);
      if (served) await httpSearch(q);
    }

    // The serve process's own PostgreSQL backends (this process's pool is named differently).
    const serveBackends = served
      ? (await db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name <> 'sage-bench-scale' AND pid <> pg_backend_pid()`)).rows.map((r) => r.pid)
      : [];
    let httpSageCpu = 0;
    let httpPgCpu = 0;
    let httpClientCpu = 0;
    progress(`${size}: searching (${files.queries.length} queries × ${served ? 'service + HTTP' : 'service'})`);
    const order = new Rng(opts.seed + size);
    const serviceMs: number[] = [];
    const httpMs: number[] = [];
    let hits = 0;
    const byFlavour = new Map<string, { n: number; hit: number }>();
    for (const q of files.queries) {
      const doService = async () => {
        const r = await timed(() => serviceSearch(q));
        serviceMs.push(r.ms);
        const hit = r.value.results.some((h: SearchHitLike) => h.id === q.target);
        if (hit) hits++;
        const f = byFlavour.get(q.flavour) ?? { n: 0, hit: 0 };
        f.n++;
        if (hit) f.hit++;
        byFlavour.set(q.flavour, f);
      };
      const doHttp = async () => {
        if (!served) return;
        const sage0 = cpuMs(served.pid);
        const pg0 = serveBackends.reduce((sum, pid) => sum + cpuMs(pid), 0);
        const client0 = process.cpuUsage();
        const r = await timed(() => httpSearch(q));
        const client = process.cpuUsage(client0);
        httpClientCpu += (client.user + client.system) / 1000;
        httpMs.push(r.ms);
        httpSageCpu += cpuMs(served.pid) - sage0;
        httpPgCpu += serveBackends.reduce((sum, pid) => sum + cpuMs(pid), 0) - pg0;
      };
      if (order.chance(0.5)) {
        await doService();
        await doHttp();
      } else {
        await doHttp();
        await doService();
      }
    }

    // 3. Saves: new turns into the corpus' sessions (the first half over HTTP, the second on the service).
    progress(`${size}: saving (${opts.saves} turns${served ? ' over HTTP and as many on the service' : ''})`);
    // A reused database already holds these turns from an earlier run: a marker makes them new,
    // or every save would take the duplicate path (no insert, no near-duplicate check).
    const fresh = (text: string) => (opts.reuseDb ? `${text}\n(run ${new Date().toISOString()})` : text);
    const saveHttpMs: number[] = [];
    const saveServiceMs: number[] = [];
    let saveSageCpu = 0;
    let savePgCpu = 0;
    for (let i = 0; i < opts.saves; i++) {
      const m = files.extra[i]!;
      if (served) {
        const sage0 = cpuMs(served.pid);
        const pg0 = serveBackends.reduce((sum, pid) => sum + cpuMs(pid), 0);
        const r = await timed(() =>
          callTool(served!, 'save_conversation', { user_prompt: m.user_prompt ?? '', assistant_response: fresh(m.content), session: m.session, project: m.project, tags: m.tags }),
        );
        saveHttpMs.push(r.ms);
        saveSageCpu += cpuMs(served.pid) - sage0;
        savePgCpu += serveBackends.reduce((sum, pid) => sum + cpuMs(pid), 0) - pg0;
      }
      const s = files.extra[opts.saves + i]!;
      const r = await timed(() =>
        service.save({ tenant: TENANT, project: s.project }, { kind: 'turn', userText: s.user_prompt, content: fresh(s.content), session: s.session, tags: s.tags }),
      );
      saveServiceMs.push(r.ms);
    }

    progress(`${size}: get_context (${opts.contexts} calls)`);
    const contextHttpMs: number[] = [];
    const contextServiceMs: number[] = [];
    for (let i = 0; i < opts.contexts; i++) {
      const q = files.queries[i % files.queries.length]!;
      if (served) contextHttpMs.push((await timed(() => callTool(served!, 'get_context', { query: q.query, project: q.project }))).ms);
      contextServiceMs.push((await timed(() => service.context({ tenant: TENANT, project: q.project }, { query: q.query }))).ms);
    }
    const load1 = os.loadavg()[0]!;

    const rss = served?.rss();
    const bytes = await db.pool.query<{ bytes: string; n: string }>(
      `SELECT pg_total_relation_size('memories') + pg_total_relation_size('sessions') AS bytes, (SELECT count(*) FROM memories) AS n`,
    );
    const n = Number(bytes.rows[0]!.n);
    const search: Latency | null = served ? latency(httpMs) : null;
    const svc = latency(serviceMs);
    const saveHttp = served ? latency(saveHttpMs) : null;
    const saveSvc = latency(saveServiceMs);
    const by: Record<string, number> = {};
    for (const [k, v] of [...byFlavour].sort()) by[k] = round(v.hit / v.n, 3);
    return {
      size,
      import_per_s: Number.isNaN(importSeconds) ? null : Math.round(size / importSeconds),
      search_p50_ms: search?.p50 ?? null,
      search_p95_ms: search?.p95 ?? null,
      save_p95_ms: saveHttp?.p95 ?? null,
      context_p95_ms: served ? latency(contextHttpMs).p95 : null,
      rss_mib: rss ? round(rss.peakMiB, 1) : null,
      bytes_per_memory: Math.round(Number(bytes.rows[0]!.bytes) / n),
      search_p99_ms: search?.p99 ?? null,
      save_p50_ms: saveHttp?.p50 ?? null,
      service_search_p50_ms: svc.p50,
      service_search_p95_ms: svc.p95,
      service_search_p99_ms: svc.p99,
      service_save_p50_ms: saveSvc.p50,
      service_save_p95_ms: saveSvc.p95,
      service_context_p95_ms: latency(contextServiceMs).p95,
      rss_end_mib: rss ? round(rss.rssMiB, 1) : null,
      import_seconds: Number.isNaN(importSeconds) ? null : round(importSeconds, 1),
      import_cpu_sage_ms: Number.isNaN(importCpuSage) ? null : round(importCpuSage, 3),
      import_cpu_pg_ms: Number.isNaN(importCpuPg) ? null : round(importCpuPg, 3),
      vacuum_seconds: Number.isNaN(vacuumSeconds) ? null : round(vacuumSeconds, 1),
      memories: n,
      queries: files.queries.length,
      search_cpu_sage_ms: served ? round(httpSageCpu / httpMs.length, 2) : null,
      search_cpu_pg_ms: served ? round(httpPgCpu / httpMs.length, 2) : null,
      search_cpu_client_ms: served ? round(httpClientCpu / httpMs.length, 2) : null,
      search_cpu_serial_ms: served ? round((httpSageCpu + httpPgCpu + httpClientCpu) / httpMs.length, 2) : null,
      search_mean_ms: search?.mean ?? null,
      save_cpu_sage_ms: served ? round(saveSageCpu / saveHttpMs.length, 2) : null,
      save_cpu_pg_ms: served ? round(savePgCpu / saveHttpMs.length, 2) : null,
      sage_command: served ? served.command : 'none (--no-http)',
      known_hit_at_10: round(hits / files.queries.length, 3),
      known_hit_at_10_by_flavour: by,
      load_avg_1m: [round(load0, 2), round(load1, 2)],
    };
  } catch (err) {
    if (served) process.stderr.write(`sage serve stderr (tail):\n${served.stderrTail()}\n`);
    throw err;
  } finally {
    await served?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await bench.drop().catch(() => undefined);
  }
}

function verdict(ok: boolean | null): string {
  return ok === null ? 'n/a' : ok ? 'ok' : 'MISSED';
}

function printHuman(r: SizeResult): void {
  const row = (label: string, value: string, target: string, ok: boolean | null) => `  ${label.padEnd(34)} ${value.padStart(12)}   ${target.padEnd(12)} ${verdict(ok)}`;
  const ms = (x: number | null) => (x === null ? '—' : `${x} ms`);
  const target = TARGETS.searchP95Ms(r.size);
  const lines = [
    `size ${r.size.toLocaleString('en')} (${r.memories.toLocaleString('en')} memories at the end; load avg ${r.load_avg_1m.join(' → ')} on ${os.cpus().length} cores)`,
    row('import', r.import_per_s === null ? '—' : `${r.import_per_s}/s`, `≥ ${TARGETS.importPerS}/s`, r.import_per_s === null ? null : r.import_per_s >= TARGETS.importPerS),
    row('search p50 / p95 / p99 (MCP HTTP)', `${ms(r.search_p50_ms)} / ${ms(r.search_p95_ms)} / ${ms(r.search_p99_ms)}`, `p95 ≤ ${target} ms`, r.search_p95_ms === null ? null : r.search_p95_ms <= target),
    row('search p50 / p95 / p99 (service)', `${ms(r.service_search_p50_ms)} / ${ms(r.service_search_p95_ms)} / ${ms(r.service_search_p99_ms)}`, `p95 ≤ ${target} ms`, r.service_search_p95_ms <= target),
    row('save_conversation p50 / p95 (HTTP)', `${ms(r.save_p50_ms)} / ${ms(r.save_p95_ms)}`, `p95 ≤ ${TARGETS.saveP95Ms} ms`, r.save_p95_ms === null ? null : r.save_p95_ms <= TARGETS.saveP95Ms),
    row('save p50 / p95 (service)', `${ms(r.service_save_p50_ms)} / ${ms(r.service_save_p95_ms)}`, `p95 ≤ ${TARGETS.saveP95Ms} ms`, r.service_save_p95_ms <= TARGETS.saveP95Ms),
    row('get_context p95 (HTTP / service)', `${ms(r.context_p95_ms)} / ${ms(r.service_context_p95_ms)}`, '', null),
    row('Sage RSS peak / end (serve)', r.rss_mib === null ? '—' : `${r.rss_mib} / ${r.rss_end_mib} MiB`, `≤ ${TARGETS.rssMiB} MiB`, r.rss_mib === null ? null : r.rss_mib <= TARGETS.rssMiB),
    row('PostgreSQL bytes per memory', `${r.bytes_per_memory}`, '', null),
    row('CPU per imported memory: Sage / PG', r.import_cpu_sage_ms === null ? '—' : `${r.import_cpu_sage_ms} / ${r.import_cpu_pg_ms ?? '—'} ms`, '', null),
    row('CPU per HTTP search: Sage / PG', r.search_cpu_sage_ms === null ? '—' : `${r.search_cpu_sage_ms} / ${r.search_cpu_pg_ms} ms`, '', null),
    row('+ client: all CPU / mean latency', r.search_cpu_serial_ms === null ? '—' : `${r.search_cpu_client_ms}: ${r.search_cpu_serial_ms} / ${r.search_mean_ms} ms`, '', null),
    row('CPU per HTTP save: Sage / PG', r.save_cpu_sage_ms === null ? '—' : `${r.save_cpu_sage_ms} / ${r.save_cpu_pg_ms} ms`, '', null),
    row('known answer in top 10', `${r.known_hit_at_10}`, '', null),
    `  by flavour: ${JSON.stringify(r.known_hit_at_10_by_flavour)}; import ${r.import_seconds}s, vacuum analyze ${r.vacuum_seconds}s; sage: ${r.sage_command}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const opts = parse();
  setLogLevel('warn');
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
  progress(`machine: ${machine}; load avg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const size of opts.sizes) {
    const result = await runSize(size, opts);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else printHuman(result);
  }
}

// Settings are read from a throw-away database on the same server, once, for the record.
async function describeServer(): Promise<void> {
  const bench = await benchDatabase('settings');
  try {
    const s = await serverSettings(bench.url);
    progress(`PostgreSQL (${bench.server}): ${Object.entries(s).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  } finally {
    await bench.drop();
  }
}

await describeServer();
await main();
// The harness's cluster is stopped by its exit handler.
process.exit(0);
