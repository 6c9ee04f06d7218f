/**
 * `sage serve` for tests: spawns the server (sources, or SAGE_TEST_BINARY) on 127.0.0.1 with an
 * OS-chosen port, learns the port from its "http server listening" log line, and stops it after
 * the test (SIGTERM, then SIGKILL if it hangs). Also: key files, tokens, and SDK clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sageCommand } from './mcp.ts';
import { runSageProcess } from './process.ts';
import { makeTempDir } from './tmp.ts';

type After = { after(fn: () => unknown): void };

export interface ServeProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  child: ChildProcess;
  stderr: string[];
  /** Sends SIGTERM and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Runs `sage <args>` to completion (for `sage token` and failing starts). */
export async function runSage(args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runSageProcess(args, { env, timeoutMs });
  return { code, stdout, stderr };
}

export async function startServe(env: Record<string, string>, t?: After, timeoutMs = 30_000): Promise<ServeProcess> {
  const { command, args } = sageCommand();
  const child = spawn(command, [...args, 'serve'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SAGE_HTTP_HOST: '127.0.0.1', SAGE_HTTP_PORT: '0', SAGE_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sage serve did not start in ${timeoutMs} ms:\n${stderr.join('\n')}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        stderr.push(line);
        const m = /"msg":"http server listening".*"url":"(http:\/\/127\.0\.0\.1:\d+)\/mcp"/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sage serve exited with ${code} before listening:\n${stderr.join('\n')}`));
    });
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t?.after(() => stop());
  return { url, child, stderr, stop, exited };
}

export interface Keys {
  dir: string;
  secretFile: string;
  edPublic: string;
  edPrivate: string;
  ecPublic: string;
  ecPrivate: string;
  edPublicPem: string;
}

/** An HS256 secret, an Ed25519 and a P-256 key pair, as files in a temp dir. */
export function makeKeys(t?: After): Keys {
  const dir = makeTempDir(t, 'sage-keys-');
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, randomBytes(48).toString('base64') + '\n', { mode: 0o600 });
  const ed = generateKeyPairSync('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const edPublicPem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const files = {
    edPublic: join(dir, 'ed.pub.pem'),
    edPrivate: join(dir, 'ed.key.pem'),
    ecPublic: join(dir, 'ec.pub.pem'),
    ecPrivate: join(dir, 'ec.key.pem'),
  };
  writeFileSync(files.edPublic, edPublicPem);
  writeFileSync(files.edPrivate, ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  writeFileSync(files.ecPublic, ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  writeFileSync(files.ecPrivate, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  return { dir, secretFile, edPublicPem, ...files };
}

/** An MCP SDK client over Streamable HTTP with a bearer token. */
export async function connectHttp(url: string, token: string, t?: After): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'sage-http-test', version: '0.0.0' });
  await client.connect(transport);
  t?.after(() => client.close().catch(() => undefined));
  return client;
}

/** A raw JSON-RPC POST to /mcp (for status codes and headers the SDK client hides). */
export async function postMcp(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-11-25', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

/** The real HTTP server in this process over a fresh database (faster than a child; same code). */
export async function startInProcess(
  t: After,
  auth: { keys: import('../../src/auth/keys.ts').KeySettings; issuer?: string; audience?: string; tenantClaim?: string },
  extra: Partial<Omit<import('../../src/transport/http.ts').HttpOptions, 'revocations'>> = {},
): Promise<{ url: string; db: import('../../src/store/db.ts').Database; databaseUrl: string; server: import('../../src/transport/http.ts').HttpServer }> {
  const { createTestDatabase } = await import('./postgres.ts');
  const { Database } = await import('../../src/store/db.ts');
  const { MemoryService } = await import('../../src/memory/service.ts');
  const { loadVerificationKeys } = await import('../../src/auth/keys.ts');
  const { createVerifier } = await import('../../src/auth/jwt.ts');
  const { startHttpServer } = await import('../../src/transport/http.ts');
  const { RevocationList } = await import('../../src/auth/revocations.ts');
  const { revocationsSince } = await import('../../src/store/revocations.ts');
  const database = await createTestDatabase();
  const db = new Database({ url: database.url, max: 6 });
  await db.ready();
  const service = new MemoryService(db, { dimension: 2 ** 20 });
  const verify = createVerifier({ keys: loadVerificationKeys(auth.keys), issuer: auth.issuer, audience: auth.audience, tenantClaim: auth.tenantClaim ?? 'sub' });
  const revocations = new RevocationList({ read: (since) => revocationsSince(db, since) });
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, service, db, project: 'default', verify, revocations, bodyLimit: 2 ** 20, requestTimeoutMs: 30_000, issuer: auth.issuer, ...extra });
  // Stop the server, then the pool, then drop the database (a forced drop would kill live connections).
  t.after(async () => {
    await server.close(1000);
    await db.close();
    await database.drop();
  });
  return { url: server.url, db, databaseUrl: database.url, server };
}
