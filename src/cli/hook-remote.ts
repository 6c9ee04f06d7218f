/**
 * The hooks against a remote Sage (`--url https://…/mcp --token-file FILE`): the hook runs on
 * the machine where Claude Code runs and talks MCP over Streamable HTTP to the server, with
 * the official SDK client and a bearer token. get_context answers the prompt hook;
 * save_conversation and remember store what the stop hook captures.
 *
 * The capture cursor cannot live in the server's database (the MCP tools do not expose it),
 * so it is kept in a small local file per session under $XDG_STATE_HOME/sage/capture/
 * (~/.local/state/sage/capture/), keyed by the server URL. Losing it costs nothing but a
 * re-send: the server answers duplicate=true for turns it already has.
 *
 * Loaded lazily by `sage hook` (only in this mode), because the HTTP client must not be part of
 * the start-up snapshot (see build.mjs).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConfigError, InputError, UnavailableError } from '../errors.ts';
import { callTool } from '../transport/client-call.ts';
import type { CaptureSave, CaptureStore, Cursor } from '../claude/capture.ts';
import { SAGE_VERSION } from '../version.ts';

export interface RemoteOptions {
  url: string;
  token: string | undefined;
  timeoutMs: number;
}

export interface Remote {
  client: Client;
  call(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Reads the bearer token from a file (trimmed); the token itself never goes on a command line. */
export async function readToken(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const source = file ?? env.SAGE_TOKEN_FILE;
  if (source) {
    try {
      const token = (await readFile(source, 'utf8')).trim();
      if (!token) throw new InputError(`the token file ${source} is empty`);
      return token;
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`cannot read the token file ${source} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  return env.SAGE_TOKEN?.trim() || undefined;
}

export function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InputError(`--url ${JSON.stringify(url)} is not a URL (expected https://host/mcp)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new InputError('--url must be an http:// or https:// URL');
  if (parsed.username || parsed.password) throw new InputError('--url must not carry credentials; use --token-file');
  return parsed;
}

/**
 * Why the connection failed, for the hook's line on stderr. A server that answered 401 or 403 was
 * reached and refused the token (expired, revoked with `sage revoke`, or for another server):
 * "cannot reach" sent people to look at the network.
 */
function describeConnectFailure(err: unknown, where: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const status = (err as { code?: unknown }).code;
  if (status === 401 || status === 403) {
    const body = /\{.*\}/s.exec(message)?.[0];
    let reason = '';
    try {
      const parsed = body ? (JSON.parse(body) as { error?: unknown; error_description?: unknown }) : {};
      reason = [parsed.error, parsed.error_description].filter((v) => typeof v === 'string').join(': ');
    } catch {
      // not JSON: the status says enough
    }
    return new ConfigError(`Sage at ${where} refused the token (HTTP ${status}${reason ? `, ${reason.slice(0, 200)}` : ''}): mint a new one with \`sage token\` and put it in the --token-file`);
  }
  return new UnavailableError(`cannot reach Sage at ${where}: ${message.slice(0, 300)}`);
}

export async function connectRemote(options: RemoteOptions): Promise<Remote> {
  const url = checkUrl(options.url);
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  const client = new Client({ name: 'sage-hook', version: SAGE_VERSION });
  try {
    await client.connect(transport, { timeout: options.timeoutMs });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw describeConnectFailure(err, `${url.origin}${url.pathname}`);
  }
  return {
    client,
    call: (tool, args) => callTool(client, tool, args, options.timeoutMs, 'the server'),
    close: () => client.close(),
  };
}

function stateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(homedir(), '.local', 'state');
  return path.join(base, 'sage', 'capture');
}

/** Local cursor files for one server: <state>/sage/capture/<hash of URL and tenant>/<session>.json. */
export function cursorFile(url: string, sessionId: string, env: NodeJS.ProcessEnv = process.env): string {
  const server = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const name = sessionId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 150);
  return path.join(stateDir(env), server, `${name}.json`);
}

export function remoteCaptureStore(remote: Remote, url: string, env: NodeJS.ProcessEnv = process.env): CaptureStore {
  const readCursor = async (sessionId: string): Promise<Cursor | undefined> => {
    try {
      const value = JSON.parse(await readFile(cursorFile(url, sessionId, env), 'utf8')) as Partial<Cursor>;
      return typeof value.lastUuid === 'string' && typeof value.lastLine === 'number' ? { lastUuid: value.lastUuid, lastLine: value.lastLine } : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    cursor: readCursor,
    async advance(sessionId, to) {
      const previous = await readCursor(sessionId);
      if (previous && previous.lastLine >= to.lastLine) return;
      const file = cursorFile(url, sessionId, env);
      await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify({ lastUuid: to.lastUuid, lastLine: to.lastLine, updatedAt: new Date().toISOString() }), { mode: 0o600 });
      await rename(tmp, file);
    },
    async save(input: CaptureSave) {
      const metadata = input.createdAt ? { ...input.metadata, started_at: input.createdAt.toISOString() } : input.metadata;
      const common = { session: input.session, project: input.project, tags: input.tags, metadata };
      const out =
        input.kind === 'turn'
          ? await remote.call('save_conversation', { user_prompt: input.userText ?? '', assistant_response: input.content, ...common })
          : await remote.call('remember', { kind: input.kind, content: input.content, ...common });
      return { duplicate: out.duplicate === true };
    },
  };
}
