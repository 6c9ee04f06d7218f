// npm run bench:hook [-- --runs 40 --memories 3000 --binary dist/sage --baseline OTHER --no-source --json]
//
// Latency of `sage hook prompt` as Claude Code sees it: spawn → exit, with the hook JSON on
// stdin, against a PostgreSQL holding --memories memories in the project (the fixture
// transcript captured, plus synthetic turns on varied topics). Two cases of the binary:
//   binary            while a Sage runs for this database — as in a Claude Code session, whose
//                     MCP server `sage stdio` (or the container's `sage serve`) is up: the hook
//                     asks it over the local socket (src/transport/local-socket.ts);
//   binary_no_server  when none runs (SAGE_HOOK_SOCKET=off): the hook opens PostgreSQL itself.
// The running Sage is this binary's `sage stdio`, started once before the rounds and warmed by
// the warm-up round. Also measured: the sources (node src/main.ts, no server), all
// interleaved in shuffled order each round so machine load hits them alike, next to a floor
// from the same run: `sage version` (start-up only, no database). Prompts alternate between ones that match stored memories and ones that match
// nothing. Also times one `sage hook stop` of the fixture transcript (capture of 2 turns).
// --baseline OTHER adds another binary (say, a build of the previous commit) and its own floor
// to the same rounds, for a before/after under the same load; --no-source leaves the sources out.
// `X_over_floor` is the median and p95 of X − its floor within each round: the hook's own cost,
// with most of the machine's load (which hits both runs of a round alike) taken out.
// PostgreSQL: DATABASE_URL when set (a scratch database is NOT created: use an empty one), else
// a throw-away cluster like the tests'.
// With --json the last line is {"runs":N,"memories":N,"binary":{"p50_ms":x,"p95_ms":x,"printed":N},
// "binary_no_server":{...},"floor_binary":{...},"binary_over_floor":{"p50_ms":x,"p95_ms":x},
// "binary_no_server_over_floor":{...},"source":{...},...,"load":[1,5,15 min],"stop_ms":x}
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MemoryService } from '../src/memory/service.ts';
import { Database } from '../src/store/db.ts';
import { createTestDatabase } from '../test/helpers/postgres.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const FIXTURES = join(ROOT, 'test/fixtures/claude');

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    memories: { type: 'string', default: '3000' },
    binary: { type: 'string', default: join(ROOT, 'dist', 'sage') },
    baseline: { type: 'string' },
    'no-source': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const RUNS = Number(opts.runs);
const MEMORIES = Number(opts.memories);
const BINARY = resolve(opts.binary);
const BASELINE = opts.baseline === undefined ? undefined : resolve(opts.baseline);

function say(line: string): void {
  process.stderr.write(`bench:hook: ${line}\n`);
}

function timeRun(command: string, args: string[], stdin: string, env: Record<string, string>): Promise<{ ms: number; stdout: string; stderr: string; code: number | null }> {
  const started = performance.now();
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  child.stdin.end(stdin);
  return new Promise((done) => child.on('close', (code) => done({ ms: performance.now() - started, stdout, stderr, code })));
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const TOPICS = [
  ['checkout', 'payment', 'stripe', 'retry', 'timeout', 'webhook', 'card', 'refund'],
  ['postgres', 'index', 'query', 'vacuum', 'migration', 'pool', 'deadlock', 'replica'],
  ['react', 'component', 'hook', 'render', 'state', 'props', 'suspense', 'router'],
  ['docker', 'image', 'container', 'compose', 'volume', 'healthcheck', 'registry', 'layer'],
  ['auth', 'jwt', 'session', 'cookie', 'oauth', 'scope', 'login', 'token'],
  ['ci', 'pipeline', 'cache', 'artifact', 'flaky', 'runner', 'matrix', 'deploy'],
];

function syntheticTurn(i: number): { user: string; content: string } {
  const words = TOPICS[i % TOPICS.length]!;
  const pick = (k: number) => words[(i * 7 + k * 3) % words.length]!;
  return {
    user: `How do we handle the ${pick(0)} ${pick(1)} problem in module ${i % 97}?`,
    content: `We changed the ${pick(2)} ${pick(3)} handling in src/${pick(4)}/${pick(5)}-${i}.ts: the ${pick(1)} now uses a ${pick(6)} with a bounded ${pick(7)}, and the tests cover case ${i}.`,
  };
}

async function main(): Promise<void> {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} not found: run npm run build first (or pass --binary)`);
  if (BASELINE !== undefined && !existsSync(BASELINE)) throw new Error(`--baseline ${BASELINE} not found`);
  const database = process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : await createTestDatabase();
  const env = { DATABASE_URL: database.url };
  const db = new Database({ url: database.url, max: 4 });
  const service = new MemoryService(db, { dimension: 2 ** 20 });
  await db.ready();
  say(`seeding ${MEMORIES} memories`);
  for (let i = 0; i < MEMORIES; i++) {
    const t = syntheticTurn(i);
    await service.save({ tenant: 'local', project: 'shop' }, { kind: 'turn', userText: t.user, content: t.content, session: `bench-${i % 50}` });
  }
  await db.close();

  const transcript = join(FIXTURES, 'transcript.jsonl');
  const stopInput = JSON.stringify({ session_id: '5d3c2b1a-7e6f-4a8b-9c0d-1e2f3a4b5c6d', transcript_path: transcript, cwd: '/home/alice/src/shop', hook_event_name: 'Stop' });
  const stop = await timeRun(BINARY, ['hook', 'stop'], stopInput, env);
  if (!/captured 2 new turns/.test(stop.stderr)) throw new Error(`stop hook did not capture: ${stop.stderr}`);
  say(`hook stop (2 turns + 1 agent report, binary): ${stop.ms.toFixed(0)} ms`);

  const prompts = [
    'Why was the checkout test timing out?',
    'how do we retry the stripe webhook payment',
    'postgres deadlock in the migration pool',
    'Plan the office picnic menu with vegetarian options',
    'fix the flaky ci pipeline cache',
    'what is the capital of Mongolia',
  ];
  // The Sage a Claude Code session keeps running: `sage stdio`, its stdin held open, its socket
  // in a private directory of this run.
  const runtimeDir = mkdtempSync(join(tmpdir(), 'sage-bench-hook-'));
  const socket = join(runtimeDir, 'hook.sock');
  const server = spawn(BINARY, ['stdio'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, SAGE_HOOK_SOCKET: socket, SAGE_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'ignore', 'inherit'] });
  for (let waited = 0; !existsSync(socket); waited += 50) {
    if (waited > 20_000 || server.exitCode !== null) throw new Error('the running Sage (sage stdio) did not open its hook socket');
    await new Promise((r) => setTimeout(r, 50));
  }
  const withServer = { ...env, SAGE_HOOK_SOCKET: socket };
  const noServer = { ...env, SAGE_HOOK_SOCKET: 'off' };

  type Variant = { name: string; command: string; args: string[]; env: Record<string, string>; floor?: string; samples: number[]; printed: number; note: RegExp | undefined };
  const variant = (name: string, command: string, args: string[], options: { floor?: string; env?: Record<string, string>; note?: RegExp } = {}): Variant => ({
    name,
    command,
    args,
    env: options.env ?? noServer,
    floor: options.floor,
    note: options.note,
    samples: [],
    printed: 0,
  });
  const viaServer = /\(via the running Sage\)|nothing to search/;
  const variants = [
    variant('binary', BINARY, ['hook', 'prompt'], { floor: 'floor_binary', env: withServer, note: viaServer }),
    variant('binary_no_server', BINARY, ['hook', 'prompt'], { floor: 'floor_binary' }),
    variant('floor_binary', BINARY, ['version']),
  ];
  if (BASELINE !== undefined) variants.push(variant('baseline', BASELINE, ['hook', 'prompt'], { floor: 'floor_baseline' }), variant('floor_baseline', BASELINE, ['version']));
  if (!opts['no-source']) {
    variants.push(variant('source', NODE, [join(ROOT, 'src/main.ts'), 'hook', 'prompt'], { floor: 'floor_source' }), variant('floor_source', NODE, [join(ROOT, 'src/main.ts'), 'version']));
  }
  say(`load average before the runs: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // Warm-up (page cache, PostgreSQL buffers).
  for (const v of variants) await timeRun(v.command, v.args, JSON.stringify({ session_id: 'warm', cwd: '/home/alice/src/shop', prompt: prompts[0] }), v.env);
  for (let r = 0; r < RUNS; r++) {
    const prompt = prompts[r % prompts.length]!;
    const input = JSON.stringify({ session_id: `bench-${r}`, cwd: '/home/alice/src/shop', hook_event_name: 'UserPromptSubmit', prompt });
    for (const v of shuffle([...variants])) {
      const out = await timeRun(v.command, v.args, input, v.env);
      if (out.code !== 0) throw new Error(`${v.name} exited ${out.code}: ${out.stderr}`);
      if (v.args.includes('prompt') && /gave up|not reachable|DATABASE_URL/.test(out.stderr)) throw new Error(`${v.name}: ${out.stderr}`);
      if (v.note && !v.note.test(out.stderr)) throw new Error(`${v.name} did not go through the running Sage: ${out.stderr}`);
      v.samples.push(out.ms);
      if (out.stdout.length > 0) v.printed++;
    }
  }
  const result: Record<string, unknown> = { runs: RUNS, memories: MEMORIES + 3 };
  for (const v of variants) {
    result[v.name] = { p50_ms: percentile(v.samples, 50), p95_ms: percentile(v.samples, 95), ...(v.args.includes('prompt') ? { printed: v.printed } : {}) };
    say(`${v.name.padEnd(15)} p50 ${percentile(v.samples, 50).toFixed(1)} ms  p95 ${percentile(v.samples, 95).toFixed(1)} ms${v.args.includes('prompt') ? `  (context printed in ${v.printed}/${RUNS} runs)` : ''}`);
  }
  for (const v of variants) {
    const floor = variants.find((f) => f.name === v.floor);
    if (!floor) continue;
    const over = v.samples.map((ms, r) => ms - floor.samples[r]!);
    result[`${v.name}_over_floor`] = { p50_ms: percentile(over, 50), p95_ms: percentile(over, 95) };
    say(`${`${v.name} − floor`.padEnd(15)} p50 ${percentile(over, 50).toFixed(1)} ms  p95 ${percentile(over, 95).toFixed(1)} ms  (paired within each round)`);
  }
  server.stdin.end();
  await new Promise((r) => server.once('exit', r));
  rmSync(runtimeDir, { recursive: true, force: true });
  result.load = loadavg().map((l) => Math.round(l * 100) / 100);
  say(`load average after the runs: ${(result.load as number[]).join(' ')}`);
  result.stop_ms = Math.round(stop.ms);
  if (opts.json) process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

main().catch((err: unknown) => {
  say(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
