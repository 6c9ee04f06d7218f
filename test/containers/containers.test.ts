/**
 * Container end-to-end test (`npm run test:containers`; root, podman + buildah + podman-compose
 * + runc + debootstrap + netavark, see the "container tests" section of .ci/run).
 *
 * No registry is reachable here, so test/containers/build.sh first builds local stand-ins of
 * the three base images, tagged with their real names, and then Dockerfile.distroless and
 * Dockerfile.postgres, unchanged, with --pull=never. Then compose.yaml runs for real, as
 * `docker compose up -d` would: both containers healthy; MCP through
 * `podman exec -i sage /sage stdio` with the SDK client; HTTP with a token minted by
 * `podman exec sage /sage token`; data and secrets survive `down` + `up`; the database restarts
 * under a running Sage, which recovers by itself; and the air-gapped round trip: save, remove
 * the images, load and start in a network namespace with no network at all.
 *
 * Podman runs no healthcheck timers without systemd, so the test triggers the images' own
 * HEALTHCHECK commands with `podman healthcheck run`, which records the status the engine reports.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { callOk, NODE, ROOT } from '../helpers/mcp.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const MB = 1_000_000; // image sizes as the engine reports them (decimal megabytes)
const SAGE_IMAGE = 'localhost/sage:latest';
const DB_IMAGE = 'localhost/sage-db:latest';
const LIMITS = { [SAGE_IMAGE]: 140 * MB, [DB_IMAGE]: 110 * MB };
const PROJECT = 'sage-e2e';
const AIRGAP_PROJECT = 'sage-airgap';
const NETNS = `sage-airgap-${process.pid}`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of test/containers/env.sh: podman's config and storage in the work tree. */
function containersEnv(): Record<string, string> {
  const out = spawnCollect('bash', ['-c', '. test/containers/env.sh && env -0'], process.env as Record<string, string>);
  const env: Record<string, string> = {};
  for (const entry of out.split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  assert.ok(env.CONTAINERS_CONF && env.CONTAINERS_STORAGE_CONF, 'env.sh did not set CONTAINERS_CONF / CONTAINERS_STORAGE_CONF');
  return env;
}

function spawnCollect(command: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `npm test` finds this file too; it runs only through `npm run test:containers`. */
const ENABLED = process.env.SAGE_CONTAINER_TESTS === '1';
const ENV = ENABLED ? containersEnv() : {};
let sagePort = 0;

/** Runs a command to completion without blocking the event loop (MCP clients may be open). */
function run(command: string, args: string[], options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...ENV, SAGE_PORT: String(sagePort), ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // EPIPE: a command may exit without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Like run, but a non-zero exit is an error that carries the output. */
async function ok(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(command, args, options);
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

const podman = (...args: string[]) => ok('podman', args);
const compose = (project: string, file: string, ...args: string[]) => ok('podman-compose', ['-p', project, '-f', file, ...args], { timeoutMs: 300_000 });
// nsenter switches only the network namespace (`ip netns exec` also remounts /sys, which hides
// the cgroup mounts runc needs).
const NSENTER = ['nsenter', `--net=/run/netns/${NETNS}`];
const inNetns = (command: string, ...args: string[]) => ok(NSENTER[0]!, [...NSENTER.slice(1), command, ...args], { timeoutMs: 300_000 });

async function inspect<T>(what: string, format: string): Promise<T> {
  return JSON.parse(await podman('inspect', '--format', `{{json ${format}}}`, what)) as T;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Runs the container's HEALTHCHECK until it passes; then the engine must report "healthy". */
async function waitHealthy(container: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Result | undefined;
  while (Date.now() < deadline) {
    last = await run('podman', ['healthcheck', 'run', container], { timeoutMs: 60_000 });
    if (last.code === 0) break;
    await sleep(2000);
  }
  const status = await inspect<string>(container, '.State.Health.Status');
  if (status !== 'healthy') {
    const logs = await run('podman', ['logs', '--tail', '40', container]);
    assert.fail(`${container} is ${status} after ${timeoutMs} ms (last check: ${last?.stdout}${last?.stderr})\n--- logs\n${logs.stdout}${logs.stderr}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The MCP SDK client over `[prefix...] podman exec -i sage /sage stdio`. */
async function stdioClient(prefix: string[] = []): Promise<Client> {
  const argv = [...prefix, 'podman', 'exec', '-i', 'sage', '/sage', 'stdio'];
  const transport = new StdioClientTransport({ command: argv[0]!, args: argv.slice(1), env: ENV, stderr: 'pipe', cwd: ROOT });
  const client = new Client({ name: 'sage-container-test', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

async function httpClient(token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${sagePort}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'sage-container-test-http', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

interface Hit {
  content: string;
}

async function searchContents(client: Client, query: string): Promise<string[]> {
  const found = await callOk<{ results: Hit[] }>(client, 'search_memory', { query, limit: 5 });
  return found.results.map((h) => h.content);
}

async function mintToken(subject: string): Promise<string> {
  const out = await podman('exec', 'sage', '/sage', 'token', '--sub', subject, '--scope', 'memory:read,memory:write', '--ttl', '1h');
  const token = out.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'sage token prints only the token');
  return token;
}

interface ImageConfig {
  User: string;
  Entrypoint?: string[];
  Cmd?: string[];
  StopSignal?: string;
  Labels: Record<string, string>;
  Volumes?: Record<string, unknown>;
  Healthcheck?: { Test: string[] };
  Env?: string[];
}

/** The image's configuration; podman reports the healthcheck beside Config, Docker inside it. */
async function imageConfig(image: string): Promise<ImageConfig> {
  const [info] = JSON.parse(await podman('image', 'inspect', image)) as Array<{ Config: ImageConfig; Healthcheck?: { Test: string[] } }>;
  assert.ok(info, `no image ${image}`);
  return { ...info.Config, Healthcheck: info.Config.Healthcheck ?? info.Healthcheck };
}

async function imageSize(image: string): Promise<number> {
  return inspect<number>(image, '.Size');
}

const COMPOSE_FILE = join(ROOT, 'compose.yaml');
const FACT = 'The staging database for project Kestrel listens on port 6543 and is backed up nightly at 02:30.';
const HTTP_FACT = 'Team convention: release branches are named release/YYYY.MM and frozen on Thursdays.';

test('containers: images, compose, MCP over exec and HTTP, restarts, air-gapped install', { timeout: 50 * 60_000, skip: !ENABLED && 'needs root and podman: npm run test:containers' }, async (t) => {
  const work = makeTempDir(t, 'sage-containers-');
  sagePort = await freePort();
  t.after(async () => {
    // Leave nothing running: both projects down with their volumes, the namespace removed.
    if (existsSync(`/run/netns/${NETNS}`)) {
      const airgapCompose = join(work, 'sage-airgap', 'compose.yaml');
      if (existsSync(airgapCompose)) await run(NSENTER[0]!, [...NSENTER.slice(1), 'podman-compose', '-p', AIRGAP_PROJECT, '-f', airgapCompose, 'down', '-v'], { timeoutMs: 300_000 });
      await run('ip', ['netns', 'del', NETNS]);
    }
    await run('podman-compose', ['-p', PROJECT, '-f', COMPOSE_FILE, 'down', '-v'], { timeoutMs: 300_000 });
    // podman-compose 1.0.3 leaves the project networks behind.
    for (const project of [PROJECT, AIRGAP_PROJECT]) {
      await run('podman', ['network', 'rm', '-f', `${project}_backend`, `${project}_frontend`]);
    }
  });

  await t.test('build the base stand-ins and both images (Dockerfiles unchanged, --pull=never)', { timeout: 40 * 60_000 }, async () => {
    const out = await ok('bash', ['test/containers/build.sh'], { timeoutMs: 40 * 60_000 });
    for (const line of out.split('\n').filter((l) => /^(bases|build|size):/.test(l))) t.diagnostic(line);
    for (const [image, limit] of Object.entries(LIMITS)) {
      const size = await imageSize(image);
      t.diagnostic(`image size ${image}: ${(size / MB).toFixed(1)} MB (limit ${limit / MB} MB)`);
      assert.ok(size <= limit, `${image} is ${(size / MB).toFixed(1)} MB, over ${limit / MB} MB`);
    }
  });

  await t.test('image configuration: user, entrypoint, healthcheck, stop signal, labels, contents', async () => {
    const sage = await imageConfig(SAGE_IMAGE);
    assert.equal(sage.User, '65532:65532');
    assert.deepEqual(sage.Entrypoint, ['/sage']);
    assert.deepEqual(sage.Cmd, ['serve']);
    assert.deepEqual(sage.Healthcheck?.Test, ['CMD', '/sage', 'health']);
    assert.equal(sage.StopSignal, 'SIGTERM');
    // Two malloc arenas instead of one per allocating thread: 6-7 MiB less for serve at scale (bench/SCALE-LOG.md).
    assert.ok(sage.Env?.includes('MALLOC_ARENA_MAX=2'), `MALLOC_ARENA_MAX=2 in the image's environment: ${sage.Env?.join(' ')}`);
    assert.equal(sage.Labels['org.opencontainers.image.title'], 'sage');
    // On top of the distroless base: /sage, its licence notices, the secret volumes' mount points.
    const added = (await podman('image', 'diff', SAGE_IMAGE, 'gcr.io/distroless/cc-debian12:nonroot'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^[ACD] /, ''));
    const allowed = new Set(['/sage', '/usr', '/usr/share', '/usr/share/doc', '/usr/share/doc/sage', '/usr/share/doc/sage/THIRD_PARTY_NOTICES', '/usr/share/doc/sage/copyright', '/var', '/var/lib', '/var/lib/sage', '/var/lib/sage/secrets', '/var/lib/sage/db-secrets', '/home', '/home/nonroot']);
    assert.deepEqual(added.filter((p) => !allowed.has(p)), [], 'the sage image adds only /sage and its notices to the base');
    assert.ok(added.includes('/sage'));

    const db = await imageConfig(DB_IMAGE);
    assert.equal(db.User, '999:999');
    assert.equal(db.StopSignal, 'SIGINT');
    assert.deepEqual(Object.keys(db.Volumes ?? {}), ['/var/lib/postgresql/data']);
    assert.deepEqual(db.Healthcheck?.Test.slice(0, 2), ['CMD', 'pg_isready']);
    const dbFiles = await podman('image', 'diff', DB_IMAGE, 'gcr.io/distroless/cc-debian12:nonroot');
    for (const unwanted of [/llvm/i, /perl/i, /\/man\//, /\/bin\/psql$/m, /pg_dump$/m, /\/extension\/(?!plpgsql)/]) {
      assert.doesNotMatch(dbFiles, unwanted, `the postgres image contains ${unwanted}`);
    }
  });

  await t.test('compose up: sage-db then sage, both healthy, locked down', { timeout: 10 * 60_000 }, async (t) => {
    await compose(PROJECT, COMPOSE_FILE, 'up', '-d', '--no-build');
    await waitHealthy('sage-db');
    await waitHealthy('sage');
    assert.equal(await inspect<number>(`${PROJECT}_sage-init_1`, '.State.ExitCode'), 0, 'sage-init exits 0');
    for (const name of ['sage', 'sage-db']) {
      const host = await inspect<{ ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[]; Memory: number; RestartPolicy: { Name: string } }>(name, '.HostConfig');
      assert.equal(host.ReadonlyRootfs, true, `${name}: read-only root filesystem`);
      assert.ok(host.Memory > 0, `${name}: memory limit`);
      assert.equal(host.RestartPolicy.Name, 'unless-stopped');
      assert.ok(host.SecurityOpt.some((o) => o.startsWith('no-new-privileges')), `${name}: no-new-privileges`);
      const caps = await inspect<string[] | null>(name, '.EffectiveCaps');
      assert.deepEqual(caps ?? [], [], `${name}: no capabilities`);
    }
    const stats = await run('podman', ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', 'sage', 'sage-db']);
    if (stats.code === 0) for (const line of stats.stdout.trim().split('\n')) t.diagnostic(`memory ${line}`);
    const ports = await podman('port', 'sage');
    assert.match(ports.trim(), new RegExp(`^8080/tcp -> 127\\.0\\.0\\.1:${sagePort}$`), 'only Sage is published, on 127.0.0.1');
    assert.equal((await podman('port', 'sage-db')).trim(), '', 'the database publishes no port');
    const backend = JSON.parse(await podman('network', 'inspect', `${PROJECT}_backend`)) as Array<{ internal: boolean }>;
    assert.equal(backend[0]?.internal, true, 'the database network is internal');
    // The secrets were generated, are not in the environment, and only the owner/group read them.
    const env = await inspect<string[]>('sage', '.Config.Env');
    assert.ok(!env.some((e) => /PASSWORD=|SECRET=|DATABASE_URL=/.test(e)), `no secret in the environment: ${env.join(' ')}`);
  });

  await t.test('MCP over `podman exec -i sage /sage stdio`: save, then search finds it', async () => {
    const client = await stdioClient();
    try {
      const saved = await callOk<{ id: string }>(client, 'remember', { content: FACT, kind: 'fact' });
      assert.ok(saved.id);
      assert.ok((await searchContents(client, 'Kestrel staging database port')).includes(FACT));
    } finally {
      await client.close();
    }
  });

  await t.test('the prompt hook through `podman exec -i sage /sage hook prompt` asks the running sage serve', async () => {
    const client = await stdioClient();
    try {
      await callOk(client, 'remember', { content: FACT, kind: 'fact', project: 'kestrel' });
    } finally {
      await client.close();
    }
    const input = JSON.stringify({ session_id: 'container-hook', cwd: '/home/alice/src/kestrel', hook_event_name: 'UserPromptSubmit', prompt: 'which port does the Kestrel staging database use?' });
    const hook = await run('podman', ['exec', '-i', 'sage', '/sage', 'hook', 'prompt', '--project', 'kestrel'], { input });
    assert.equal(hook.code, 0, hook.stderr);
    assert.match(hook.stdout, /listens on port 6543/);
    // Answered by the server's socket in the container's /tmp (tmpfs), not by a new database connection.
    assert.match(hook.stderr, /\(via the running Sage\)/);
  });

  await t.test('HTTP at 127.0.0.1 with a token from `sage token`; none without; `sage revoke` stops one', async () => {
    const unauthenticated = await fetch(`http://127.0.0.1:${sagePort}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(unauthenticated.status, 401);
    const client = await httpClient(await mintToken('e2e-http'));
    try {
      await callOk(client, 'remember', { content: HTTP_FACT, kind: 'fact' });
      assert.ok((await searchContents(client, 'release branches frozen Thursday')).includes(HTTP_FACT));
      // The token's subject is its tenant: the stdio tenant's memory is not visible here.
      assert.ok(!(await searchContents(client, 'Kestrel staging database port')).includes(FACT));
    } finally {
      await client.close();
    }
    // `sage revoke` in the container: the revoked subject's token is refused within seconds.
    const leaving = await mintToken('e2e-leaving');
    const initialize = (token: string) =>
      fetch(`http://127.0.0.1:${sagePort}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '0' } } }),
      });
    assert.equal((await initialize(leaving)).status, 200);
    assert.match(await podman('exec', 'sage', '/sage', 'revoke', '--sub', 'e2e-leaving', '--reason', 'container test'), /^revoked tokens of e2e-leaving issued before /);
    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i++) {
      status = (await initialize(leaving)).status;
      if (status !== 401) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 401, 'revoked within 5 s');
  });

  await t.test('down and up: data and secrets survive', { timeout: 10 * 60_000 }, async () => {
    await compose(PROJECT, COMPOSE_FILE, 'down');
    await compose(PROJECT, COMPOSE_FILE, 'up', '-d', '--no-build');
    await waitHealthy('sage-db');
    await waitHealthy('sage');
    const initLog = await run('podman', ['logs', `${PROJECT}_sage-init_1`]);
    assert.match(initLog.stdout + initLog.stderr, /kept \/var\/lib\/sage\/secrets\/jwt_secret/, 'the secrets of the first start are kept');
    const client = await stdioClient();
    try {
      assert.ok((await searchContents(client, 'Kestrel staging database port')).includes(FACT));
    } finally {
      await client.close();
    }
  });

  await t.test('the database restarts under a running Sage: Sage recovers by itself', { timeout: 5 * 60_000 }, async (t) => {
    const token = await mintToken('e2e-http');
    const started = await inspect<string>('sage', '.State.StartedAt');
    const t0 = Date.now();
    await podman('restart', 'sage-db');
    const restartedAt = Date.now();
    const deadline = restartedAt + 120_000;
    let lastError: unknown;
    let recovered = false;
    const failures: string[] = [];
    while (!recovered && Date.now() < deadline) {
      try {
        const client = await httpClient(token);
        try {
          recovered = (await searchContents(client, 'release branches frozen Thursday')).includes(HTTP_FACT);
        } finally {
          await client.close();
        }
      } catch (err) {
        lastError = err;
        failures.push(`${((Date.now() - restartedAt) / 1000).toFixed(1)} s: ${String(err).slice(0, 200)}`);
        await sleep(2000);
      }
    }
    if (failures.length) t.diagnostic(`attempts before recovery: ${failures.length}; first: ${failures[0]}; last: ${failures.at(-1)}`);
    assert.ok(recovered, `Sage did not serve again after the database restart: ${String(lastError)}`);
    t.diagnostic(`podman restart sage-db: ${((restartedAt - t0) / 1000).toFixed(1)} s; Sage served again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s later`);
    assert.equal(await inspect<string>('sage', '.State.StartedAt'), started, 'the sage container was not restarted');
    await waitHealthy('sage');
  });

  await t.test('air-gapped: save, remove the images, load and start with no network', { timeout: 15 * 60_000 }, async () => {
    const archive = join(work, 'sage-airgap.tar.gz');
    await ok('bash', ['docker/airgap-save.sh', '-o', archive], { env: { CONTAINER_ENGINE: 'podman' }, timeoutMs: 600_000 });
    await compose(PROJECT, COMPOSE_FILE, 'down', '-v');
    await podman('rmi', SAGE_IMAGE, DB_IMAGE);
    for (const image of [SAGE_IMAGE, DB_IMAGE]) assert.notEqual((await run('podman', ['image', 'exists', image])).code, 0, `${image} removed`);

    // A network namespace of our own with only a loopback interface: no route anywhere.
    await ok('ip', ['netns', 'add', NETNS]);
    await inNetns('ip', 'link', 'set', 'lo', 'up');
    assert.equal((await inNetns('ip', 'route', 'show')).trim(), '', 'no route in the air-gapped namespace');
    const probe = await run(NSENTER[0]!, [...NSENTER.slice(1), NODE, '-e', "require('node:net').connect(80, 'deb.debian.org').on('connect', () => process.exit(0)).on('error', () => process.exit(3))"], { timeoutMs: 60_000 });
    assert.equal(probe.code, 3, 'the namespace reaches nothing outside');

    await inNetns('env', `CONTAINER_ENGINE=podman`, `COMPOSE_PROJECT=${AIRGAP_PROJECT}`, 'bash', 'docker/airgap-load.sh', archive);
    const bundle = join(work, 'sage-airgap');
    assert.ok(readFileSync(join(bundle, 'INSTALL'), 'utf8').includes('./load.sh'));
    assert.doesNotMatch(readFileSync(join(bundle, 'compose.yaml'), 'utf8'), /^\s*build:/m, 'the bundled compose.yaml cannot build');
    await waitHealthy('sage-db');
    await waitHealthy('sage');
    const client = await stdioClient(NSENTER);
    try {
      await callOk(client, 'remember', { content: FACT, kind: 'fact' });
      assert.ok((await searchContents(client, 'Kestrel staging database port')).includes(FACT));
    } finally {
      await client.close();
    }
    // The published port works inside the cut-off namespace.
    const health = await run(NSENTER[0]!, [...NSENTER.slice(1), NODE, '-e', `fetch('http://127.0.0.1:${sagePort}/healthz').then((r) => process.exit(r.status === 200 ? 0 : 4), () => process.exit(5))`], { timeoutMs: 60_000 });
    assert.equal(health.code, 0, `GET /healthz in the air-gapped namespace: exit ${health.code} ${health.stderr}`);
    await inNetns('podman-compose', '-p', AIRGAP_PROJECT, '-f', join(bundle, 'compose.yaml'), 'down', '-v');
    await ok('ip', ['netns', 'del', NETNS]);
    rmSync(bundle, { recursive: true, force: true });
  });

  const sizes = await podman('images', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}');
  for (const line of sizes.split('\n').filter((l) => /sage|distroless|bookworm/.test(l))) t.diagnostic(`image ${line}`);
});
