/**
 * The shape of a CLI command and the flags every command that talks to the database shares.
 * Flags are parsed with node:util parseArgs (strict: an unknown flag is an error, not ignored).
 */
import type { ParseArgsConfig } from 'node:util';
import { loadConfig, requireDatabaseUrl, type Flags } from '../config.ts';
import { setLogLevel } from '../log.ts';
import { createMcpServer } from '../mcp/server.ts';
import { Redactor, parsePatternList } from '../memory/redact.ts';
import { MemoryService } from '../memory/service.ts';
import { Database } from '../store/db.ts';
import { localSocketPath, serveLocalSocket, type LocalSocketServer } from '../transport/local-socket.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Extra help text after the option list. */
  details?: string;
  options: Options;
  /**
   * Exit code for usage errors (unknown flag, bad value), 2 by default. Claude Code hooks set 0:
   * to Claude Code, exit code 2 means "block the prompt".
   */
  usageExitCode?: number;
  run(flags: Flags, positionals: string[]): Promise<number>;
}

export const DATABASE_OPTIONS: Options = {
  'database-url': { type: 'string' },
  project: { type: 'string' },
  tenant: { type: 'string' },
  'log-level': { type: 'string' },
};

/** For the long-running servers (stdio, serve): the socket the prompt hooks ask first. */
export const HOOK_SOCKET_OPTIONS: Options = { 'hook-socket': { type: 'string' } };
export const HOOK_SOCKET_HELP = `  --hook-socket PATH   Where prompt hooks reach this Sage, or "off" (env SAGE_HOOK_SOCKET; default
                       /tmp/sage-UID/hook-HASH.sock, one per database and tenant)`;

export const DATABASE_HELP = `  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --project NAME       Default project (env SAGE_PROJECT, default "default")
  --tenant NAME        Tenant (env SAGE_TENANT, default "local")
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL)`;

export interface Runtime {
  db: Database;
  service: MemoryService;
  tenant: string;
  project: string;
}

/** Reads the configuration a database command needs and opens a (lazy) pool. */
export function openRuntime(flags: Flags, applicationName: string): Runtime {
  const config = loadConfig(['databaseUrl', 'project', 'tenant', 'logLevel', 'vectorDimension', 'dbPoolMax', 'dbStatementTimeoutMs', 'redactPatterns'], flags);
  setLogLevel(config.logLevel);
  const db = new Database({
    url: requireDatabaseUrl(config.databaseUrl),
    max: config.dbPoolMax,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    applicationName,
  });
  const redactor = new Redactor(parsePatternList(config.redactPatterns));
  return { db, service: new MemoryService(db, { dimension: config.vectorDimension, redactor }), tenant: config.tenant, project: config.project };
}

/**
 * Where this runtime serves the prompt hooks (src/transport/local-socket.ts), or null when turned
 * off. Called when the server starts, so a bad SAGE_HOOK_SOCKET stops it with the usual
 * configuration error instead of surfacing later.
 */
export function hookSocketPath(flags: Flags, runtime: Runtime): string | null {
  const config = loadConfig(['databaseUrl', 'hookSocket'], flags);
  return localSocketPath(config.hookSocket, requireDatabaseUrl(config.databaseUrl), runtime.tenant);
}

/**
 * Serves the prompt hooks' local socket at `socketPath` with the access of a stdio client. Never
 * throws for a socket that cannot be had: the server it belongs to goes on without it.
 */
export function serveHookSocket(socketPath: string, runtime: Runtime): LocalSocketServer {
  return serveLocalSocket(socketPath, () => createMcpServer(runtime.service, { tenant: runtime.tenant, project: runtime.project }));
}
