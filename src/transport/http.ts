/**
 * MCP over Streamable HTTP (node:http, no framework), stateless: every POST /mcp gets a fresh
 * McpServer and transport (as in the SDK's stateless example), so any number of replicas can
 * sit behind a load balancer with no affinity — nothing a request needs lives in a process.
 *
 * The order of checks on /mcp is the order of trust: Host and Origin (DNS rebinding) → bearer
 * token (401) → method (405: no standalone SSE stream in stateless mode) → body size (413) →
 * JSON (400) → scopes of every message (403 insufficient_scope) → the MCP server. Nothing of
 * the tool layer runs before the token is verified. Responses are JSON (enableJsonResponse):
 * Sage's tools send no progress, and a plain response keeps timeouts and proxies simple.
 *
 * Also here: /healthz (the process is alive), /readyz (PostgreSQL reachable and migrations
 * applied), the RFC 9728 protected-resource metadata, a per-request time limit, and a graceful
 * close that stops accepting, lets in-flight requests finish, then closes connections.
 * No stack trace ever reaches a client, and no token ever reaches a log.
 *
 * This module loads node:http and the SDK's HTTP transport, which the binary's start-up
 * snapshot cannot contain: import it only with `await import()` (see src/cli/serve.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Verifier } from '../auth/jwt.ts';
import type { RevocationList } from '../auth/revocations.ts';
import { SCOPES, type Principal } from '../auth/tenant.ts';
import { UnavailableError } from '../errors.ts';
import { log } from '../log.ts';
import { requiredScope } from '../mcp/access.ts';
import { createMcpServer } from '../mcp/server.ts';
import type { MemoryService } from '../memory/service.ts';
import type { Database } from '../store/db.ts';

export interface HttpOptions {
  host: string;
  port: number;
  service: MemoryService;
  db: Database;
  /** Default project for callers (tokens name a tenant, not a project). */
  project: string;
  verify: Verifier;
  /** Revoked tokens (`sage revoke`): checked after every verification, cached or not. */
  revocations: RevocationList;
  bodyLimit: number;
  requestTimeoutMs: number;
  /** Comma-separated host names (or host:port) accepted in Host; "*" for any. */
  allowedHosts?: string | undefined;
  /** Comma-separated origins accepted in Origin; "*" for any. */
  allowedOrigins?: string | undefined;
  /** The URL clients use for Sage (scheme, host, optional path prefix), when behind a proxy. */
  publicUrl?: string | undefined;
  /** The token issuer, listed as authorization server in the metadata when it is a URL. */
  issuer?: string | undefined;
}

export interface HttpServer {
  /** http://host:port of the bound socket. */
  url: string;
  port: number;
  /** Requests being handled right now. */
  inFlight(): number;
  /** Stops accepting, waits up to graceMs for in-flight requests, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

const MCP_PATH = '/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource';
const LOCAL_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** A JSON-RPC error body with no id (the request could not be read or was refused before). */
function rpcError(code: number, message: string): unknown {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** "name", "name:port", "[v6]" or "[v6]:port" → lower-case name (IPv6 keeps its brackets). */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(0, end + 1);
  }
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * DNS-rebinding protection: a browser tricked into talking to Sage sends the attacker's name in
 * Host and the attacker's page in Origin. Hosts compare by name (the port is whatever a proxy or
 * client used); an entry with a port must match exactly. Origins default to any origin whose
 * host is an allowed host.
 */
export function hostPolicy(options: Pick<HttpOptions, 'host' | 'allowedHosts' | 'allowedOrigins' | 'publicUrl'>) {
  const configuredHosts = splitList(options.allowedHosts);
  const anyHost = configuredHosts.includes('*');
  const hosts = new Set(configuredHosts.length > 0 ? configuredHosts : LOCAL_NAMES);
  if (configuredHosts.length === 0) {
    const bind = options.host.toLowerCase();
    if (!WILDCARD_ADDRESSES.has(bind)) hosts.add(bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind);
    if (options.publicUrl) hosts.add(new URL(options.publicUrl).hostname.toLowerCase());
  }
  const origins = splitList(options.allowedOrigins).map((o) => o.replace(/\/+$/, ''));
  const anyOrigin = origins.includes('*');

  const hostOk = (header: string | undefined): boolean => {
    if (anyHost) return true;
    if (!header) return false;
    const h = header.trim().toLowerCase();
    return hosts.has(h) || hosts.has(hostnameOf(h));
  };
  const originOk = (header: string | undefined): boolean => {
    if (header === undefined || anyOrigin) return true;
    if (origins.length > 0) return origins.includes(header.trim().toLowerCase());
    let url: URL;
    try {
      url = new URL(header);
    } catch {
      return false; // "null" and other opaque origins
    }
    return hostOk(url.host);
  };
  return { hostOk, originOk, hosts: anyHost ? ['*'] : [...hosts] };
}

/** Reads the body up to `limit` bytes; a declared or actual larger body is a 413. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, rpcError(-32600, `request body is larger than ${limit} bytes`), { Connection: 'close' });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // Stop keeping it; let the rest drain so the client can read the 413.
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

export async function startHttpServer(options: HttpOptions): Promise<HttpServer> {
  const policy = hostPolicy(options);
  const publicBase = options.publicUrl?.replace(/\/+$/, '');
  let draining = false;
  let inFlight = 0;
  const idle: Array<() => void> = [];

  /** Where clients reach Sage: the configured public URL, else what the (checked) Host says. */
  const baseUrl = (req: IncomingMessage): string => publicBase ?? `http://${req.headers.host ?? `${options.host}:${options.port}`}`;
  const metadataUrl = (req: IncomingMessage): string => {
    const base = new URL(baseUrl(req));
    return `${base.origin}${METADATA_PATH}${base.pathname.replace(/\/+$/, '')}${MCP_PATH}`;
  };

  const challenge = (req: IncomingMessage, fields: Record<string, string>): Record<string, string> => ({
    'WWW-Authenticate': `Bearer ${Object.entries({ resource_metadata: metadataUrl(req), ...fields })
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(', ')}`,
  });

  async function authenticate(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match) {
      // RFC 6750 §3.1: no error code when the request carries no credentials at all.
      throw new HttpError(401, { error: 'unauthorized', error_description: 'this endpoint needs Authorization: Bearer <token>' }, challenge(req, {}));
    }
    const refuse = (description: string): never => {
      log.info('token refused', { reason: description, remote: req.socket.remoteAddress });
      throw new HttpError(401, { error: 'invalid_token', error_description: description }, challenge(req, { error: 'invalid_token', error_description: description }));
    };
    let principal: Principal;
    try {
      principal = await options.verify(match[1]!);
    } catch (err) {
      return refuse(err instanceof Error ? err.message : 'the token could not be verified');
    }
    let revoked: string | undefined;
    try {
      revoked = await options.revocations.revoked(principal);
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      log.warn('token not checked', { reason: err.message, remote: req.socket.remoteAddress });
      throw new HttpError(503, rpcError(-32000, 'cannot check the token now: the database is not reachable; try again shortly'), { 'Retry-After': '2' });
    }
    return revoked === undefined ? principal : refuse(revoked);
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    if (req.method !== 'POST') {
      // Stateless: no standalone SSE stream to GET and no session to DELETE (spec: answer 405).
      throw new HttpError(405, rpcError(-32000, 'only POST is supported on /mcp (stateless server)'), { Allow: 'POST' });
    }
    const raw = await readBody(req, options.bodyLimit);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, rpcError(-32700, 'parse error: the body is not valid JSON'));
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const message of messages) {
      const needed = requiredScope(message);
      if (needed !== undefined && !principal.scopes.has(needed)) {
        const description = `this request needs the ${needed} scope`;
        throw new HttpError(403, { error: 'insufficient_scope', error_description: description, scope: needed }, challenge(req, { error: 'insufficient_scope', scope: needed, error_description: description }));
      }
    }
    const server = createMcpServer(options.service, { tenant: principal.tenant, project: options.project }, { scopes: principal.scopes, stateless: true, messages });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true, maxRequestBodySize: options.bodyLimit });
    transport.onerror = (err) => log.debug('mcp transport refused a request', { error: err });
    res.on('close', () => {
      void transport.close().catch(() => undefined);
      void server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  }

  async function readiness(res: ServerResponse): Promise<void> {
    if (draining) return send(res, 503, { status: 'stopping' });
    try {
      const report = await options.db.ready();
      await options.db.ping();
      send(res, 200, { status: 'ready', schema_version: report.current });
    } catch (err) {
      log.warn('not ready', { error: err });
      send(res, 503, { status: 'unavailable', error: 'the database is not reachable or not migrated; see the server log' });
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<{ tenant?: string }> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // Probes come from the orchestrator by IP address: no Host check, and they reveal nothing.
    if (path === '/healthz') {
      send(res, 200, { status: 'ok' });
      return {};
    }
    if (path === '/readyz') {
      await readiness(res);
      return {};
    }
    if (!policy.hostOk(req.headers.host)) throw new HttpError(403, rpcError(-32000, 'Host header not allowed (set SAGE_ALLOWED_HOSTS)'));
    const origin = req.headers.origin;
    if (!policy.originOk(origin)) throw new HttpError(403, rpcError(-32000, 'Origin not allowed (set SAGE_ALLOWED_ORIGINS)'));
    if (path === METADATA_PATH || path === `${METADATA_PATH}${MCP_PATH}` || path.startsWith(`${METADATA_PATH}/`)) {
      const issuer = options.issuer && /^https?:\/\//.test(options.issuer) ? [options.issuer] : undefined;
      send(res, 200, {
        resource: `${baseUrl(req).replace(/\/+$/, '')}${MCP_PATH}`,
        ...(issuer ? { authorization_servers: issuer } : {}),
        scopes_supported: [...SCOPES],
        bearer_methods_supported: ['header'],
        resource_name: 'Sage memory',
      });
      return {};
    }
    if (path !== MCP_PATH) throw new HttpError(404, { error: 'not_found', error_description: `no such endpoint; MCP is at ${MCP_PATH}` });
    const principal = await authenticate(req);
    await handleMcp(req, res, principal);
    return { tenant: principal.tenant };
  }

  const server: Server = createServer((req, res) => {
    const started = performance.now();
    inFlight++;
    let done = false;
    let tenant: string | undefined;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
      if (inFlight === 0) for (const wake of idle.splice(0)) wake();
    };
    res.on('close', finish);
    if (draining) res.setHeader('Connection', 'close');
    // Per-request time limit: answer 503 if nothing was sent in time, cut the stream otherwise.
    const timer = setTimeout(() => {
      log.warn('request timed out', { method: req.method, path: req.url, ms: options.requestTimeoutMs });
      send(res, 503, rpcError(-32000, `the request took longer than ${options.requestTimeoutMs} ms`), { Connection: 'close' });
    }, options.requestTimeoutMs);
    timer.unref();
    res.on('close', () => clearTimeout(timer));
    route(req, res).then(
      (info) => {
        tenant = info.tenant;
      },
      (err: unknown) => {
        if (err instanceof HttpError) {
          send(res, err.status, err.body, err.headers);
          if (err.headers.Connection === 'close') req.resume();
          return;
        }
        if (req.destroyed || res.destroyed || (err as { code?: unknown }).code === 'ECONNRESET') {
          // The client went away mid-request (a cancelled call, a closed laptop): there is no one
          // to answer and nothing is wrong here. Logged as an error with a stack, every cancelled
          // call of a team's clients read like a fault of the server.
          log.debug('client went away before the answer', { method: req.method, path: req.url, error: err });
          return;
        }
        log.error('request failed', { method: req.method, path: req.url, error: err, stack: err instanceof Error ? err.stack : undefined });
        send(res, 500, rpcError(-32603, 'internal error; it is recorded in the server log'));
      },
    );
    res.on('finish', () => {
      const fields = { method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, ms: Math.round(performance.now() - started), tenant };
      if (res.statusCode >= 500) log.warn('http request', fields);
      else log.debug('http request', fields);
    });
  });
  // Whole request (headers and body) must arrive within the time limit: slow senders are cut off.
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 20_000);
  server.keepAliveTimeout = 5_000;
  server.on('clientError', (err, socket) => {
    // Malformed HTTP: answer 400 without detail (Node's default would too), never a stack.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
    log.debug('malformed http request', { error: err });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  log.info('http server listening', { url: `http://${hostForUrl}:${address.port}${MCP_PATH}`, allowed_hosts: policy.hosts });
  if (WILDCARD_ADDRESSES.has(options.host) && !options.allowedHosts) {
    log.warn('listening on all interfaces but only localhost names are accepted in Host: set SAGE_ALLOWED_HOSTS to the names clients use');
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    port: address.port,
    inFlight: () => inFlight,
    close(graceMs = options.requestTimeoutMs) {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            timer.unref();
            idle.push(() => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
