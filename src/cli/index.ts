/**
 * argv → one command. `run` returns the exit code and never throws: a configuration or
 * usage error is one line on stderr and exit code 2; a failure is one line and exit code 1.
 */
import { parseArgs } from 'node:util';
import { ConfigError, isSageError } from '../errors.ts';
import { log, scrubUrl } from '../log.ts';
import { SAGE_VERSION } from '../version.ts';
import type { Command } from './command.ts';
import { healthCommand } from './health.ts';
import { hookCommand } from './hook.ts';
import { migrateCommand } from './migrate.ts';
import { stdioCommand } from './stdio.ts';
import { versionCommand } from './version.ts';

/**
 * A command whose module is loaded only when it is run or its help is shown. The single
 * executable evaluates every statically imported module into its start-up snapshot, and a
 * bigger snapshot makes every start slower (see build.mjs); rarely used commands and what
 * they import (transfer, import sources, setup, JWT minting, the HTTP server) stay out of it.
 * Commands that must start fast — stdio, hook (every prompt), health (the container
 * HEALTHCHECK), migrate, version — are imported statically.
 */
interface LazyCommand {
  name: string;
  load: () => Promise<Command>;
}

type CommandEntry = Command | LazyCommand;

export const COMMANDS: readonly CommandEntry[] = [
  stdioCommand,
  { name: 'serve', load: async () => (await import('./serve.ts')).serveCommand },
  { name: 'token', load: async () => (await import('./token.ts')).tokenCommand },
  { name: 'revoke', load: async () => (await import('./revoke.ts')).revokeCommand },
  migrateCommand,
  healthCommand,
  { name: 'export', load: async () => (await import('./export.ts')).exportCommand },
  { name: 'import', load: async () => (await import('./import.ts')).importCommand },
  { name: 'reindex', load: async () => (await import('./reindex.ts')).reindexCommand },
  hookCommand,
  { name: 'setup', load: async () => (await import('./setup.ts')).setupCommand },
  { name: 'init-secrets', load: async () => (await import('./init-secrets.ts')).initSecretsCommand },
  versionCommand,
];

async function resolveCommand(entry: CommandEntry): Promise<Command> {
  if (!('load' in entry)) return entry;
  const command = await entry.load();
  if (command.name !== entry.name) throw new Error(`command module for "${entry.name}" exports "${command.name}"`);
  return command;
}

async function mainHelp(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map(resolveCommand));
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `sage ${SAGE_VERSION} — persistent memory for AI coding assistants (MCP), on PostgreSQL

Usage: sage <command> [options]

Commands:
${lines.join('\n')}

Run "sage <command> --help" for a command's options.
Configuration: flags > environment variables > *_FILE secrets > defaults.
`;
}

function commandHelp(c: Command): string {
  return `${c.summary}

Usage: ${c.usage}
${c.details ? `\nOptions:\n${c.details}\n` : ''}  -h, --help           Show this help
`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return versionCommand.run({}, []);
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`sage: unknown command "${name}". Run "sage --help" for the list.\n`);
    return 2;
  }
  const command = await resolveCommand(entry);
  let flags: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: rest, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    flags = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`sage ${name}: ${err instanceof Error ? err.message : String(err)}. Run "sage ${name} --help".\n`);
    return command.usageExitCode ?? 2;
  }
  if (flags.help) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(flags, positionals);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`sage ${name}: invalid configuration: ${err.message}\n`);
      return command.usageExitCode ?? 2;
    }
    const message = isSageError(err) ? err.message : err instanceof Error ? scrubUrl(err.message) : String(err);
    if (!isSageError(err)) log.error('command failed', { command: name, error: err, stack: err instanceof Error ? err.stack : undefined });
    process.stderr.write(`sage ${name}: ${message}\n`);
    return 1;
  }
}
