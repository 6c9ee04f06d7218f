/**
 * MCP over a per-user Unix socket: the prompt hook's short way to a Sage that is already running.
 *
 * Claude Code starts a new `sage hook prompt` process for every prompt. On its own, that process
 * opens a PostgreSQL connection (a new backend, its login, cold catalog caches) and ranks on
 * empty caches. But while Claude Code runs, a Sage with a warm pool and warm caches is nearly
 * always running beside it: the `sage stdio` that Claude Code started as its MCP server, or
 * `sage serve` in the container. Each of them also listens on a Unix socket, and the hook asks
 * there first — MCP with the SDK's own server and client, framed as on stdio (one JSON-RPC
 * message per line). When nothing listens, the hook opens the database itself.
 *
 * Where: /tmp/sage-<uid>/, a directory that only its user can enter (created 0700). Not
 * $XDG_RUNTIME_DIR or $TMPDIR: the hook and the server must agree without sharing an environment,
 * and MCP clients start servers with a reduced one (the SDK's stdio client passes only HOME,
 * LOGNAME, PATH, SHELL, TERM and USER unless told otherwise). Both sides refuse a directory that
 * is a symbolic link, belongs to someone else or is open to others: a connection can read and
 * write this user's memories exactly as their DATABASE_URL can, and the hook sends its prompt
 * there (another user who creates /tmp/sage-<uid> first only turns the short way off). The
 * socket's name is a hash of what both sides configure — the database (server, role, name;
 * not the password) and the tenant — so a hook only reaches a Sage that reads the memories it
 * would read itself. SAGE_HOOK_SOCKET (--hook-socket) names another path, or "off".
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, unlinkSync, chmodSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { log } from '../log.ts';

/** Hooks send a prompt of at most a few KiB; a larger message is not a hook's. */
export const LOCAL_SOCKET_MAX_MESSAGE_BYTES = 1024 * 1024;
/** A hook connects, asks once and leaves; a connection idle this long is dropped. */
const IDLE_MS = 30_000;
/** Prompt hooks of parallel sessions at most; more wait for the OS backlog or fall back. */
const MAX_CONNECTIONS = 32;
/** A Sage that found the socket taken tries to take it over this often (the other may have exited). */
const TAKEOVER_MS = 30_000;

/**
 * The socket path for this database and tenant, or null when turned off. `setting` is
 * SAGE_HOOK_SOCKET / --hook-socket: "off", an absolute path, or unset for the default.
 */
export function localSocketPath(setting: string | undefined, databaseUrl: string, tenant: string): string | null {
  if (setting === 'off') return null;
  if (setting) return setting;
  return path.join('/tmp', `sage-${process.getuid?.() ?? 'user'}`, `hook-${socketKey(databaseUrl, tenant)}.sock`);
}

/**
 * What identifies the memories a Sage reads: the server, the login role and the database (so
 * postgres:// and postgresql://, an explicit :5432 or none, or another sslmode name the same
 * Sage), and the tenant. Never the password.
 */
function socketKey(databaseUrl: string, tenant: string): string {
  let target = databaseUrl;
  try {
    const url = new URL(databaseUrl);
    // A `host` parameter (a Unix-socket directory) names the server when the URL has no host.
    const server = url.searchParams.get('host') ?? url.hostname.toLowerCase();
    target = JSON.stringify([decodeURIComponent(url.username), server, url.port || '5432', decodeURIComponent(url.pathname.replace(/^\//, ''))]);
  } catch {
    // Not a URL: config.ts has rejected it before anything listens or connects.
  }
  return createHash('sha256').update(`${target}\n${tenant}`).digest('hex').slice(0, 16);
}

/**
 * Why `dir` must not hold the socket, or null when it is this user's own private directory.
 * Checked by both sides, without following links.
 */
export function privateDirProblem(dir: string): string | null {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return `${dir} cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) return `${dir} is not a directory`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to uid ${st.uid}, not to this user (${uid})`;
  if ((st.mode & 0o077) !== 0) return `${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}; expected 700)`;
  return null;
}

/** The client's side: a socket connected to the Sage there, or null when none listens (or the place is not private). */
export function connectLocalSocket(socketPath: string): Promise<Socket | null> {
  if (privateDirProblem(path.dirname(socketPath)) !== null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => resolve(null));
  });
}

export interface LocalSocketServer {
  /** Stops listening (and trying to), closes open connections, removes the socket file if ours. */
  close(): Promise<void>;
}

/**
 * Listens on `socketPath` and serves each connection with a fresh MCP server from
 * `createMcpServer` (full access for the caller, as on stdio: the directory's permissions are
 * the authentication). When another live Sage holds the socket, this one tries again every
 * 30 s, so the socket outlives the session that created it. Failures are logged, never thrown:
 * the socket is an optimisation, and the server it belongs to goes on without it.
 */
export function serveLocalSocket(socketPath: string, createMcpServer: () => McpServer): LocalSocketServer {
  const dir = path.dirname(socketPath);
  const connections = new Set<Socket>();
  let server: Server | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  /** The listening server, read through a call: listen() sets it while attempt() awaits. */
  const held = (): Server | null => server;

  const serveConnection = (socket: Socket): void => {
    if (connections.size >= MAX_CONNECTIONS) {
      socket.destroy();
      return;
    }
    connections.add(socket);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const mcp = createMcpServer();
    const transport = new StdioServerTransport(socket, socket, { maxBufferSize: LOCAL_SOCKET_MAX_MESSAGE_BYTES });
    // The transport only detaches from the socket when it closes; the socket is ours to end.
    transport.onclose = () => socket.destroy();
    socket.once('close', () => {
      connections.delete(socket);
      void mcp.close().catch(() => undefined);
    });
    mcp.connect(transport).catch((err: unknown) => {
      log.debug('hook socket connection failed', { error: err });
      socket.destroy();
    });
  };

  const listen = (): Promise<'listening' | 'taken' | 'failed'> =>
    new Promise((resolve) => {
      const candidate = createServer(serveConnection);
      candidate.once('error', (err: NodeJS.ErrnoException) => {
        candidate.close();
        resolve(err.code === 'EADDRINUSE' ? 'taken' : 'failed');
        if (err.code !== 'EADDRINUSE') log.warn('the hook socket is not available; hooks will open the database themselves', { path: socketPath, error: err.message });
      });
      candidate.listen(socketPath, () => {
        candidate.removeAllListeners('error');
        candidate.on('error', (err) => log.warn('hook socket error', { error: err }));
        try {
          chmodSync(socketPath, 0o600);
        } catch {
          // The directory's 0700 is what protects it; the mode is a second fence.
        }
        server = candidate;
        resolve('listening');
      });
    });

  /** True when a Sage answers on the socket; false when the file is left over from one that died. */
  const alive = (): Promise<boolean> =>
    new Promise((resolve) => {
      const probe = connect(socketPath);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
    });

  const attempt = async (): Promise<void> => {
    if (closed || server) return;
    let outcome = await listen();
    if (outcome === 'taken' && !closed && !(await alive())) {
      try {
        unlinkSync(socketPath); // left by a Sage that did not exit cleanly
      } catch {
        // gone already, or another Sage just replaced it: listen() tells
      }
      outcome = await listen();
    }
    if (closed) {
      held()?.close(); // close() ran while this listen was under way
      return;
    }
    if (outcome === 'listening') {
      clearInterval(retry);
      retry = undefined;
      log.debug('hook socket listening', { path: socketPath });
    } else if (outcome === 'taken' && !retry) {
      log.debug('another Sage serves the hook socket; trying again later', { path: socketPath });
      retry = setInterval(() => void attempt(), TAKEOVER_MS).unref();
    }
  };

  const start = (): void => {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      log.warn('the hook socket directory cannot be created; hooks will open the database themselves', { path: dir, error: (err as Error).message });
      return;
    }
    const problem = privateDirProblem(dir);
    if (problem) {
      log.warn('the hook socket directory is not private; no hook socket', { problem });
      return;
    }
    void attempt();
  };
  start();

  return {
    async close() {
      closed = true;
      clearInterval(retry);
      for (const socket of connections) socket.destroy();
      const current = server;
      server = null;
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
      // net.Server removes its socket file on close; nothing else is ours to remove.
    },
  };
}
