/**
 * `sage hook prompt` and `sage hook stop`: Claude Code hooks (UserPromptSubmit; Stop and
 * SessionEnd). Both read the hook JSON on stdin.
 *
 *  - prompt: finds the memories of the current project relevant to the prompt and prints one
 *    compact block on stdout, which Claude Code adds to the model's context; prints nothing
 *    when nothing is relevant (the service's context relevance floor: a memory must share a
 *    word with the prompt, or be similar beyond chance n-gram overlap — see
 *    src/memory/context.ts).
 *  - stop: saves every turn of the transcript not captured yet (src/claude/capture.ts).
 *
 * A hook must never get in the user's way: whatever happens — no database, bad input, a
 * timeout — it exits 0 and says why on stderr (Claude Code treats exit code 2 as "block the
 * prompt" or "do not stop", which a memory failure must never cause). Usage errors exit 0 too.
 *
 * The project comes from where Claude Code runs, never from the model: see
 * src/claude/project.ts. In Docker the transcript is not visible to Sage, so the hook command
 * streams it after the JSON (`--transcript-stdin`); `sage setup claude` writes that command.
 */
import { readFile } from 'node:fs/promises';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { loadConfig, requireDatabaseUrl, type Flags } from '../config.ts';
import { isSageError } from '../errors.ts';
import { scrubUrl } from '../log.ts';
import { captureTranscript, serviceCaptureStore, type CaptureResult } from '../claude/capture.ts';
import { readHookStream, type HookInput } from '../claude/hook-input.ts';
import { workspaceProject, type ResolvedProject } from '../claude/project.ts';
import { transcriptCwd } from '../claude/transcript.ts';
import { callTool } from '../transport/client-call.ts';
import { connectLocalSocket, localSocketPath } from '../transport/local-socket.ts';
import { analyze } from '../vectorize/index.ts';
import { DATABASE_OPTIONS, openRuntime, type Command, type Runtime } from './command.ts';

export const PROMPT_BUDGET = 2500;
/** A long pasted prompt is searched by its beginning: enough words to match, bounded work. */
const QUERY_MAX_CHARS = 2000;
const PROMPT_TIMEOUT_MS = 2000;
const STOP_TIMEOUT_MS = 50_000;
const MAX_HOOK_JSON_BYTES = 8 * 1024 * 1024;
const MAX_STREAM_BYTES = 256 * 1024 * 1024;

type Event = 'prompt' | 'stop';

class HookError extends Error {}

async function readStdin(maxBytes: number): Promise<string> {
  if (process.stdin.isTTY) throw new HookError('expects the hook JSON on stdin (Claude Code sends it); see "sage setup claude"');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HookError(`stdin is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function positiveInt(flags: Flags, name: string, fallback: number, min: number, max: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new HookError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

function projectFor(flags: Flags, input: HookInput, cwdFallback: string | null = null): ResolvedProject {
  return workspaceProject(flags, input.cwd ?? cwdFallback);
}

/** Hook output is quiet by default: Claude Code shows stderr of a successful hook only in verbose mode. */
function quiet(flags: Flags): Flags {
  return flags['log-level'] === undefined && !process.env.SAGE_LOG_LEVEL ? { ...flags, 'log-level': 'warn' } : flags;
}

/**
 * The prompt to search with, or null when it gives nothing to search for: empty, a bare slash
 * command, or fewer than two distinct words after stopwords. "continue", "thanks!", "yes" share
 * a word with half the memories of a project, and memories injected unasked on such replies
 * are noise; the model can still call get_context itself.
 */
export function promptQuery(prompt: string | undefined): string | null {
  const text = (prompt ?? '').trim();
  if (text.length === 0 || /^\/[\w:.-]+$/.test(text)) return null;
  let query = text.length > QUERY_MAX_CHARS ? text.slice(0, QUERY_MAX_CHARS) : text;
  if (!query.isWellFormed()) query = query.toWellFormed();
  return new Set(analyze(query).terms).size >= 2 ? query : null;
}

/**
 * Where the prompt hook's memories come from, settled before the hook JSON is read so that it
 * overlaps reading stdin, resolving the project and analysing the prompt instead of following
 * them: a running Sage on the local socket (src/transport/local-socket.ts — warm pool, warm
 * caches, full ranking), else PostgreSQL itself (a new backend, its login and the schema check,
 * then the quick ranking). A failure is kept until the hook needs the memories, so a bad input
 * is still reported as such, and a prompt with nothing to search for still says so.
 */
type Source = { kind: 'local'; client: Client } | { kind: 'database'; runtime: Runtime };

interface EarlySource {
  ready: Promise<Source>;
  /** performance.now() by which the local Sage must have answered. */
  localDeadline: number;
  /** The database, when the local Sage failed after all (it stopped answering mid-call). */
  database(): Promise<Runtime>;
  close(): Promise<void>;
}

/**
 * How long the local Sage may still take: it has the first half of the hook's time, so that a
 * Sage that accepts but does not answer (stopped in a debugger, swapped out) leaves the other
 * half for PostgreSQL.
 */
function localBudget(deadline: number): number {
  return Math.max(50, Math.floor(deadline - performance.now()));
}

function openEarly(flags: Flags, timeoutMs: number): EarlySource {
  const deadline = performance.now() + timeoutMs / 2;
  let runtime: Runtime | undefined;
  let client: Client | undefined;
  const openDatabase = (): Promise<Runtime> => {
    try {
      // The runtime's default project is never used: the search names the project resolved from
      // the hook input (and checked) in promptHook. Naming one here keeps a blank SAGE_PROJECT or
      // --project, which the project rule skips, from failing the configuration before that.
      const opened = (runtime ??= openRuntime({ ...quiet(flags), project: 'default' }, 'sage-hook'));
      return opened.db.ready().then(() => opened);
    } catch (err) {
      return Promise.reject(err);
    }
  };
  let ready: Promise<Source>;
  try {
    const config = loadConfig(['databaseUrl', 'tenant', 'hookSocket'], flags);
    const socketPath = localSocketPath(config.hookSocket, requireDatabaseUrl(config.databaseUrl), config.tenant);
    const local = (socketPath === null ? Promise.resolve(null) : connectLocalSocket(socketPath)).then(async (socket) => {
      if (!socket) return null;
      const { connectLocal } = await import('../transport/local-client.ts');
      return connectLocal(socket, localBudget(deadline));
    }).catch(() => null);
    ready = local.then(async (connected): Promise<Source> => {
      if (connected) return { kind: 'local', client: (client = connected) };
      return { kind: 'database', runtime: await openDatabase() };
    });
  } catch (err) {
    ready = Promise.reject(err);
  }
  ready.catch(() => undefined); // reported where it is awaited, if the hook gets that far
  return {
    ready,
    localDeadline: deadline,
    database: openDatabase,
    close: async () => {
      await client?.close().catch(() => undefined);
      await runtime?.db.close().catch(() => undefined);
    },
  };
}

/** Context from the local Sage's get_context (full ranking, its caches), or why it failed. */
async function askLocal(
  client: Client,
  args: { query: string; budget: number; project: string },
  deadline: number,
): Promise<{ context: string; shown: number } | { failed: string }> {
  try {
    const out = await callTool(client, 'get_context', args, localBudget(deadline), 'the running Sage');
    return { context: typeof out.context === 'string' ? out.context : '', shown: Array.isArray(out.ids) ? out.ids.length : 0 };
  } catch (err) {
    return { failed: err instanceof Error ? err.message.slice(0, 200) : String(err) };
  }
}

/** Where the prompt hook finds memories: PostgreSQL (opened early), or a remote Sage (--url). */
type Backend = { kind: 'database'; db: EarlySource } | { kind: 'remote'; url: string };

async function promptHook(flags: Flags, input: HookInput, timeoutMs: number, backend: Backend): Promise<{ stdout: string; note: string }> {
  const query = promptQuery(input.prompt);
  if (query === null) return { stdout: '', note: 'nothing to search for in this prompt' };
  const budget = positiveInt(flags, 'budget', PROMPT_BUDGET, 200, 100_000);
  const { project } = projectFor(flags, input);
  let context: string;
  let shown: number;
  let via = '';
  if (backend.kind === 'database') {
    loadConfig(['project'], { project }); // the checks a project name gets everywhere (config.ts)
    const source = await backend.db.ready;
    const local = source.kind === 'local' ? await askLocal(source.client, { query, budget, project }, backend.db.localDeadline) : undefined;
    if (local && !('failed' in local)) {
      ({ context, shown } = local);
      via = ' (via the running Sage)';
    } else {
      if (local) via = ` (read from PostgreSQL: the running Sage failed: ${local.failed})`;
      const runtime = source.kind === 'database' ? source.runtime : await backend.db.database();
      // quick: this process ranks once on empty caches and exits (RankOptions in memory/search.ts).
      const packed = await runtime.service.context({ tenant: runtime.tenant, project }, { query, budget }, { quick: true });
      context = packed.text;
      shown = packed.ids.length;
    }
  } else {
    const { connectRemote, readToken } = await import('./hook-remote.ts');
    const remote = await connectRemote({ url: backend.url, token: await readToken(flags['token-file'] as string | undefined), timeoutMs });
    try {
      const out = await remote.call('get_context', { query, budget, project });
      context = typeof out.context === 'string' ? out.context : '';
      shown = Array.isArray(out.ids) ? out.ids.length : 0;
    } finally {
      await remote.close().catch(() => undefined);
    }
  }
  if (!context) return { stdout: '', note: `no relevant memories in project "${project}"${via}` };
  const stdout = flags.json
    ? JSON.stringify({ hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: context } }) + '\n'
    : context + '\n';
  return { stdout, note: `${shown} memories (${context.length} characters) from project "${project}"${via}` };
}

async function loadTranscript(flags: Flags, input: HookInput, rest: string): Promise<string> {
  if (rest.trim().length > 0) return rest;
  if (flags['transcript-stdin']) {
    throw new HookError(
      `--transcript-stdin: no transcript followed the hook JSON on stdin (is ${input.transcript_path ?? 'the transcript'} readable where the hook runs?)`,
    );
  }
  if (!input.transcript_path) throw new HookError('the hook input has no transcript_path');
  try {
    return await readFile(input.transcript_path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new HookError(
      `cannot read the transcript ${input.transcript_path} (${code}); when Sage runs in a container, stream it: ` +
        `"sage setup claude --mode docker" prints the hook command that does`,
    );
  }
}

async function stopHook(flags: Flags, input: HookInput, rest: string, timeoutMs: number): Promise<CaptureResult> {
  // Parsed by the capture, from the cursor's turn on: the stop hook runs after every response.
  const transcript = await loadTranscript(flags, input, rest);
  const { project } = projectFor(flags, input, input.cwd ? null : transcriptCwd(transcript));
  const sessionId = input.session_id;
  if (typeof flags.url === 'string') {
    const { connectRemote, readToken, remoteCaptureStore } = await import('./hook-remote.ts');
    const remote = await connectRemote({ url: flags.url, token: await readToken(flags['token-file'] as string | undefined), timeoutMs });
    try {
      return await captureTranscript(remoteCaptureStore(remote, flags.url), transcript, { sessionId, project });
    } finally {
      await remote.close().catch(() => undefined);
    }
  }
  const runtime = openRuntime({ ...quiet(flags), project }, 'sage-hook');
  try {
    return await captureTranscript(serviceCaptureStore(runtime.service, { tenant: runtime.tenant, project }), transcript, { sessionId, project });
  } finally {
    await runtime.db.close().catch(() => undefined);
  }
}

function describeCapture(r: CaptureResult): string {
  const parts = [`${r.turns} new turn${r.turns === 1 ? '' : 's'}`];
  if (r.agentReports) parts.push(`${r.agentReports} agent report${r.agentReports === 1 ? '' : 's'}`);
  if (r.duplicates) parts.push(`${r.duplicates} already stored`);
  return `captured ${parts.join(', ')} in project "${r.project}" (session ${r.sessionId})`;
}

function reason(err: unknown): string {
  if (err instanceof HookError || isSageError(err)) return err.message;
  return err instanceof Error ? scrubUrl(err.message) : String(err);
}

export async function runHook(event: Event, flags: Flags): Promise<void> {
  const say = (line: string) => process.stderr.write(`sage hook ${event}: ${line}\n`);
  const timeoutMs = positiveInt(flags, 'timeout-ms', event === 'prompt' ? PROMPT_TIMEOUT_MS : STOP_TIMEOUT_MS, 100, 600_000);
  // The deadline ends the process whatever is pending (a connection attempt to a database
  // that does not answer): a late context block is worth less than an unblocked prompt.
  const deadline = setTimeout(() => {
    say(`gave up after ${timeoutMs} ms (is PostgreSQL reachable?); the prompt goes on without memories`);
    process.exit(0);
  }, timeoutMs);
  deadline.unref();
  const backend: Backend | undefined =
    event !== 'prompt' ? undefined : typeof flags.url === 'string' ? { kind: 'remote', url: flags.url } : { kind: 'database', db: openEarly(flags, timeoutMs) };
  try {
    const { input, rest } = readHookStream(await readStdin(event === 'stop' ? MAX_STREAM_BYTES : MAX_HOOK_JSON_BYTES));
    if (backend) {
      const out = await promptHook(flags, input, timeoutMs, backend);
      if (out.stdout) process.stdout.write(out.stdout);
      say(out.note);
    } else {
      say(describeCapture(await stopHook(flags, input, rest, timeoutMs)));
    }
  } catch (err) {
    say(`${reason(err)} (exit 0: the hook never blocks Claude Code)`);
  } finally {
    // Not awaited: the pool ends at once when its connection is idle (the goodbye is written
    // before this returns); when the hook failed while the connection was still being opened or
    // the schema checked, the exit below abandons that attempt (an interrupted migration rolls
    // back, as after any lost connection).
    if (backend?.kind === 'database') void backend.db.close();
    clearTimeout(deadline);
  }
}

export const hookCommand: Command = {
  name: 'hook',
  summary: 'Claude Code hooks: inject relevant memories (prompt) and capture the conversation (stop)',
  usage: 'sage hook prompt|stop [options] < hook.json',
  details: `  prompt               UserPromptSubmit: print the memories of this project relevant to the
                       prompt (nothing when none is), for Claude Code to add to the context
  stop                 Stop and SessionEnd: save every turn of the transcript not saved yet
  --budget N           prompt: size of the context block in characters (default ${PROMPT_BUDGET})
  --json               prompt: print {"hookSpecificOutput":{"additionalContext":…}} instead of text
  --transcript-stdin   stop: the transcript follows the hook JSON on stdin (Sage in Docker)
  --project NAME       Use this project instead of deriving it from the working directory
  --url URL            Use a remote Sage over HTTP (https://host/mcp) instead of PostgreSQL
  --token-file FILE    Bearer token for --url (env SAGE_TOKEN_FILE)
  --timeout-ms N       Give up after N ms and exit 0 (prompt ${PROMPT_TIMEOUT_MS}, stop ${STOP_TIMEOUT_MS})
  --hook-socket PATH   prompt: ask the Sage listening here first, or "off" (env SAGE_HOOK_SOCKET;
                       default: the socket of a running "sage stdio" or "sage serve" for the same
                       database and tenant)
  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --tenant NAME        Tenant (env SAGE_TENANT, default "local")
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL; hooks default to warn)
  The project: SAGE_PROJECT_MAP, else the git repository's name, else the directory's name.
  Always exits 0; the reason for doing nothing is on stderr.`,
  options: {
    ...DATABASE_OPTIONS,
    budget: { type: 'string' },
    json: { type: 'boolean' },
    'transcript-stdin': { type: 'boolean' },
    url: { type: 'string' },
    'token-file': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'hook-socket': { type: 'string' },
  },
  usageExitCode: 0,
  async run(flags, positionals) {
    const [event, ...extra] = positionals;
    if ((event !== 'prompt' && event !== 'stop') || extra.length > 0) {
      process.stderr.write('sage hook: expected "sage hook prompt" or "sage hook stop" (exit 0: the hook never blocks Claude Code)\n');
      return 0;
    }
    await runHook(event, flags);
    return exitWhenFlushed();
  },
};

/**
 * Ends the process as soon as everything it printed is out. Claude Code waits for the hook to
 * exit, and what would keep it alive is only the database socket after the goodbye: Node waits
 * for PostgreSQL's backend process to exit and close its end (tens of milliseconds on a busy
 * machine), then tears the heap down. Nothing is half-done by then: the search's transaction
 * committed, a capture's writes committed, the pool has ended.
 */
async function exitWhenFlushed(): Promise<never> {
  // Pipes are asynchronous on macOS: wait until earlier writes are handed to the OS.
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  process.exit(0);
}
