/**
 * dist/sage alone: the single executable runs in a root filesystem that holds nothing but the
 * binary, the shared libraries `ldd` lists for it (copied to the same paths, the dynamic
 * loader included), distroless-like /etc files and an empty /tmp — no shell, no node, no npm,
 * no /proc, no /dev — as the distroless `nonroot` user (65532:65532) via
 * `chroot --userspec`. The official MCP SDK client drives it over stdio against a real
 * PostgreSQL. Needs root (chroot); skipped with a message otherwise.
 *
 * The binary is reused when it is newer than every input of the build, else built first
 * (`node build.mjs`, ~30 s). SAGE_TEST_BINARY=path tests that file instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { makeKeys, startServe } from '../helpers/http.ts';
import { createTestDatabase } from '../helpers/postgres.ts';
import { makeTempDir } from '../helpers/tmp.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NONROOT = '65532:65532';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const TOOLS = ['S', 'forget', 'get_context', 'get_status', 'manage_session', 'remember', 'save_conversation', 'search_memory', 'update_memory'];

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** dist/sage, built first when it is missing or older than its inputs. */
function binary(): string {
  if (process.env.SAGE_TEST_BINARY) return resolve(ROOT, process.env.SAGE_TEST_BINARY);
  const bin = join(ROOT, 'dist', 'sage');
  const inputs = ['src', 'build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'].map((p) => join(ROOT, p)).filter(existsSync);
  const fresh = existsSync(bin) && statSync(bin).mtimeMs >= Math.max(...inputs.map(newestMtime));
  if (!fresh) {
    const r = spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 150_000 });
    assert.equal(r.status, 0, `npm run build failed:\n${r.stdout}\n${r.stderr}`);
  }
  return bin;
}

/** Paths of the shared objects the binary loads, from `ldd` (the loader included, vdso excluded). */
function sharedLibraries(bin: string): string[] {
  const r = spawnSync('ldd', [bin], { encoding: 'utf8' });
  assert.equal(r.status, 0, `ldd ${bin}: ${r.stderr}`);
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  assert.ok(libs.some((l) => /ld-linux|ld64|ld-musl/.test(l)), `ldd lists a dynamic loader:\n${r.stdout}`);
  return [...new Set(libs)];
}

/** A distroless-like root: /sage, its libraries, /etc/{passwd,group,nsswitch.conf,hosts}, /tmp. */
function makeRootfs(t: { after(fn: () => unknown): void }, bin: string): string {
  const rootfs = makeTempDir(t, 'sage-rootfs-');
  chmodSync(rootfs, 0o755); // it becomes "/" for uid 65532, who must traverse it
  copyFileSync(bin, join(rootfs, 'sage'));
  chmodSync(join(rootfs, 'sage'), 0o755);
  for (const lib of sharedLibraries(bin)) {
    const target = join(rootfs, lib);
    mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
    copyFileSync(lib, target); // follows symlinks: the file lands at the path the loader asks for
    chmodSync(target, 0o755);
  }
  mkdirSync(join(rootfs, 'etc'), { mode: 0o755 });
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
  writeFileSync(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  mkdirSync(join(rootfs, 'tmp'));
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  return rootfs;
}

/** Absolute path of chroot(8): the children get no PATH of ours. */
const CHROOT = ['/usr/sbin/chroot', '/usr/bin/chroot', '/sbin/chroot', '/bin/chroot'].find(existsSync) ?? 'chroot';

function inRootfs(rootfs: string, ...args: string[]): string[] {
  return [`--userspec=${NONROOT}`, rootfs, '/sage', ...args];
}

const skip = !IS_ROOT ? 'needs root (chroot); run as root to test the binary in a bare root filesystem' : process.platform !== 'linux' ? 'Linux only' : false;

test('dist/sage runs alone in a bare root filesystem as uid 65532 (MCP over stdio, health)', { skip, timeout: 300_000 }, async (t) => {
  const bin = binary();
  const rootfs = makeRootfs(t, bin);
  const db = await createTestDatabase(t);
  const env = { DATABASE_URL: db.url, SAGE_PROJECT: 'binary-e2e', SAGE_LOG_LEVEL: 'warn' };

  // Nothing else is in there: no shell, no node.
  for (const p of ['bin/sh', 'usr/bin/env', 'usr/bin/node', 'usr/local/bin/node', 'proc/self']) assert.equal(existsSync(join(rootfs, p)), false, p);

  const version = spawnSync(CHROOT, inRootfs(rootfs, 'version'), { encoding: 'utf8', env: {} });
  assert.equal(version.status, 0, `sage version: ${version.stderr}`);
  assert.match(version.stdout, /^sage \d+\.\d+\.\d+/);

  const health = spawnSync(CHROOT, inRootfs(rootfs, 'health'), { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(health.status, 0, `sage health exit ${health.status}: ${health.stdout}${health.stderr}`);
  assert.equal(health.stdout.trim().split('\n').length, 1, 'health prints one line');

  const transport = new StdioClientTransport({ command: CHROOT, args: inRootfs(rootfs, 'stdio'), env, stderr: 'pipe' });
  const stderr: string[] = [];
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const client = new Client({ name: 'sage-binary-e2e', version: '0.0.0' });
  t.after(() => client.close().catch(() => undefined));
  try {
    await client.connect(transport);
    assert.equal(client.getServerVersion()?.name, 'sage');

    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((x) => x.name).sort(), TOOLS);

    const saved = await client.callTool({
      name: 'save_conversation',
      arguments: {
        user_prompt: 'Which port does the staging database listen on?',
        assistant_response: 'Staging PostgreSQL listens on port 6432 behind pgbouncer; connect through the bastion host.',
        tags: ['infra'],
      },
    });
    assert.ok(!saved.isError, `save_conversation: ${JSON.stringify(saved.content)}`);
    const id = (saved.structuredContent as { id?: string }).id;
    assert.ok(id, 'save_conversation returns an id');

    const found = await client.callTool({ name: 'search_memory', arguments: { query: 'staging database port pgbouncer' } });
    assert.ok(!found.isError, `search_memory: ${JSON.stringify(found.content)}`);
    const results = (found.structuredContent as { results: Array<{ id: string; content: string }> }).results;
    assert.equal(results[0]?.id, id, 'the saved conversation is the top hit');
    assert.match(results[0]?.content ?? '', /6432/);

    const status = await client.callTool({ name: 'get_status', arguments: {} });
    assert.ok(!status.isError, `get_status: ${JSON.stringify(status.content)}`);
    assert.equal((status.structuredContent as { database: { reachable: boolean } }).database.reachable, true);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nsage stderr:\n${stderr.join('')}`, { cause: err });
  }
});

/** The environment of a running process, from /proc. */
function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

const linuxOnly = process.platform !== 'linux' ? 'Linux only (/proc, glibc)' : false;

test('dist/sage serve replaces itself with MALLOC_ARENA_MAX=2 (same PID, same arguments), and keeps a value the environment sets', { skip: linuxOnly, timeout: 300_000 }, async (t) => {
  process.env.SAGE_TEST_BINARY = binary(); // startServe runs SAGE_TEST_BINARY
  const db = await createTestDatabase(t);
  const keys = makeKeys(t);
  const env = { DATABASE_URL: db.url, SAGE_JWT_SECRET_FILE: keys.secretFile, SAGE_HOOK_SOCKET: 'off' };

  const plain = await startServe(env, t);
  const pid = plain.child.pid!;
  assert.equal(environOf(pid)['MALLOC_ARENA_MAX'], '2', 'the serving process runs with two malloc arenas');
  assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(1).join(' '), 'serve', 'the same arguments, once');
  assert.equal((await fetch(`${plain.url}/healthz`)).status, 200);
  assert.equal(plain.stderr.filter((l) => l.includes('"http server listening"')).length, 1, 'one start is logged, not two');
  assert.equal(await plain.stop(), 0);

  const decided = await startServe({ ...env, MALLOC_ARENA_MAX: '4' }, t);
  assert.equal(environOf(decided.child.pid!)['MALLOC_ARENA_MAX'], '4', "the environment's value is kept");
  assert.equal(await decided.stop(), 0);
});

test('dist/sage setup claude --mode binary names the binary itself, so hooks work without sage on PATH', { skip: linuxOnly, timeout: 300_000 }, async () => {
  const bin = binary();
  const r = spawnSync(bin, ['setup', 'claude', '--mode', 'binary'], { encoding: 'utf8', env: { HOME: '/nonexistent' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`claude mcp add --scope user sage -- ${bin.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} stdio`));
  assert.ok(r.stdout.includes(`"command": ${JSON.stringify(bin)}`), r.stdout);
});
