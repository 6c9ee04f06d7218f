/**
 * Sage over Streamable HTTP for benchmarks: starts `sage serve` as its own process (so its RSS
 * is Sage's alone), mints a token with `sage token`, and connects the official MCP SDK client
 * with an Authorization header — the path a remote MCP client takes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sageCommand } from '../../test/helpers/mcp.ts';

export interface ServeOptions {
  databaseUrl: string;
  tenant: string;
  project: string;
  /** The Sage binary to run (e.g. dist/sage); default: the sources on Node 24 (test/helpers/mcp.ts). */
  binary?: string | undefined;
  /** Extra Node options when running the sources (experiments: heap flags, --cpu-prof). */
  nodeArgs?: readonly string[] | undefined;
}

export interface Served {
  client: Client;
  pid: number;
  /** What was started, for the report. */
  command: string;
  /** Resident set size of the serve process now, and its peak so far (MiB, /proc/PID/status). */
  rss(): { rssMiB: number; peakMiB: number };
  stderrTail(): string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

function statusKiB(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`${field} missing from /proc/${pid}/status`);
  return Number(m[1]);
}

export async function startServe(options: ServeOptions): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'sage-bench-serve-'));
  const secretFile = join(dir, 'jwt-secret');
  writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const port = await freePort();
  const source = sageCommand();
  const { command, args } = options.binary ? { command: resolve(options.binary), args: [] } : { command: source.command, args: [...(options.nodeArgs ?? []), ...source.args] };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    DATABASE_URL: options.databaseUrl,
    SAGE_TENANT: options.tenant,
    SAGE_PROJECT: options.project,
    SAGE_HTTP_HOST: '127.0.0.1',
    SAGE_HTTP_PORT: String(port),
    SAGE_JWT_SECRET_FILE: secretFile,
    SAGE_LOG_LEVEL: 'warn',
    // The Docker image sets it (Dockerfile.distroless): passed on to measure serve as shipped.
    ...(process.env['MALLOC_ARENA_MAX'] ? { MALLOC_ARENA_MAX: process.env['MALLOC_ARENA_MAX'] } : {}),
  };
  // The token is minted without nodeArgs: an experiment's --cpu-prof or --trace-gc is for serve.
  const token = await run(command, [...(options.binary ? [] : source.args), 'token', '--sub', options.tenant, '--scope', 'memory:read,memory:write', '--ttl', '1d'], env);
  const child: ChildProcess = spawn(command, [...args, 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString('utf8'));
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200);
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });

  // Wait until it accepts an MCP connection (bounded).
  const url = new URL(`http://127.0.0.1:${port}/mcp`);
  const deadline = Date.now() + 60_000;
  let client: Client | undefined;
  let lastError: unknown;
  while (!client && Date.now() < deadline) {
    if (exited) break;
    const candidate = new Client({ name: 'sage-bench-scale', version: '1' });
    try {
      await candidate.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
      client = candidate;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (!client) {
    child.kill('SIGKILL');
    cleanup();
    throw new Error(`sage serve did not accept MCP connections (${exited ?? 'timeout'}): ${String(lastError)}\n${stderr.join('').slice(-2000)}`);
  }
  const pid = child.pid!;
  return {
    client,
    pid,
    command: [command, ...args].join(' '),
    rss: () => ({ rssMiB: statusKiB(pid, 'VmRSS') / 1024, peakMiB: statusKiB(pid, 'VmHWM') / 1024 }),
    stderrTail: () => stderr.join('').slice(-2000),
    async close() {
      await client.close().catch(() => undefined);
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}
