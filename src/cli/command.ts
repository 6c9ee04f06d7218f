/**
 * The shape of a CLI command and the flags every command that talks to the database shares.
 * Flags are parsed with node:util parseArgs (strict: an unknown flag is an error, not ignored).
 */
import type { ParseArgsConfig } from 'node:util';
import { loadConfig, requireDatabaseUrl, type Flags } from '../config.ts';
import { setLogLevel } from '../log.ts';
import { Redactor, parsePatternList } from '../memory/redact.ts';
import { MemoryService } from '../memory/service.ts';
import { Database } from '../store/db.ts';

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
