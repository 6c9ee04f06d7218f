/**
 * `sage stdio`: MCP over stdin/stdout for one client. stdout carries only protocol messages;
 * logs go to stderr. The server answers initialize and tools/list without touching Postgres,
 * applies migrations in the background, and exits cleanly when stdin closes — after carrying out
 * and answering the calls it already received (transport/in-flight.ts).
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { workspaceProject } from '../claude/project.ts';
import { log } from '../log.ts';
import { createMcpServer } from '../mcp/server.ts';
import { trackInFlight, type InFlight } from '../transport/in-flight.ts';
import { DATABASE_HELP, DATABASE_OPTIONS, HOOK_SOCKET_HELP, HOOK_SOCKET_OPTIONS, hookSocketPath, openRuntime, serveHookSocket, type Command } from './command.ts';

/** How long a shutdown waits for calls in flight: above the default statement timeout (15 s). */
const DRAIN_MS = 20_000;

export const stdioCommand: Command = {
  name: 'stdio',
  summary: 'Serve MCP over stdin/stdout (for Claude Code and other local clients)',
  usage: 'sage stdio [options]',
  details: `${DATABASE_HELP}\n${HOOK_SOCKET_HELP}`,
  options: { ...DATABASE_OPTIONS, ...HOOK_SOCKET_OPTIONS },
  async run(flags) {
    const runtime = openRuntime(flags, 'sage-stdio');
    // The same rule as the Claude Code hooks (src/claude/project.ts): a client started in a
    // repository works in that repository's project, so what the model saves and what the
    // hooks capture and inject meet. --project, then SAGE_PROJECT, override it.
    const resolved = workspaceProject(flags, process.cwd());
    const project = resolved.project;
    const socketPath = hookSocketPath(flags, runtime);
    const server = createMcpServer(runtime.service, { tenant: runtime.tenant, project });
    const transport = new StdioServerTransport();

    let done: (code: number) => void = () => undefined;
    const finished = new Promise<number>((resolve) => {
      done = resolve;
    });
    let closing = false;
    let hookSocket: ReturnType<typeof serveHookSocket> | undefined;
    let inFlight: InFlight | undefined;
    const shutdown = async (reason: string) => {
      if (closing) return;
      closing = true;
      log.info('stdio server stopping', { reason, in_flight: inFlight?.size ?? 0 });
      // Calls already received are carried out and answered first (a save sent just before
      // stdin closed is not lost), bounded like a statement; a second signal ends it at once.
      if (inFlight && !(await inFlight.drained(DRAIN_MS))) log.warn('requests still running at shutdown were cut off', { in_flight: inFlight.size, waited_ms: DRAIN_MS });
      await server.close().catch(() => undefined);
      await hookSocket?.close().catch(() => undefined);
      await runtime.db.close().catch(() => undefined);
      done(0);
    };

    process.stdin.on('end', () => void shutdown('stdin closed'));
    process.stdin.on('close', () => void shutdown('stdin closed'));
    process.stdout.on('error', () => void shutdown('stdout closed'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));

    await server.connect(transport);
    inFlight = trackInFlight(transport);
    log.info('stdio server ready', { tenant: runtime.tenant, project, project_from: resolved.how });
    // While Claude Code runs this server, its prompt hooks ask here instead of opening the
    // database. Opened once the client has initialized (or after a second without that), so the
    // first answer does not wait for it.
    const openHookSocket = () => {
      clearTimeout(hookSocketTimer);
      if (!closing && !hookSocket && socketPath !== null) hookSocket = serveHookSocket(socketPath, { ...runtime, project });
    };
    const hookSocketTimer = setTimeout(openHookSocket, 1_000).unref();
    server.server.oninitialized = openHookSocket;
    runtime.db.ready().catch((err: unknown) => {
      log.warn('database not ready yet; tool calls will retry', { error: err });
    });
    return finished;
  },
};
