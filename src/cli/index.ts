/**
 * argv → one command. `run` returns the exit code and never throws: a configuration or
 * usage error is one line on stderr and exit code 2; a failure is one line and exit code 1.
 */
import { parseArgs } from 'node:util';
import { ConfigError, isSageError } from '../errors.ts';
import { log, scrubUrl } from '../log.ts';
import { SAGE_VERSION } from '../version.ts';
import type { Command } from './command.ts';
import { exportCommand } from './export.ts';
import { healthCommand } from './health.ts';
import { initSecretsCommand } from './init-secrets.ts';
import { hookCommand } from './hook.ts';
import { importCommand } from './import.ts';
import { migrateCommand } from './migrate.ts';
import { reindexCommand } from './reindex.ts';
import { serveCommand } from './serve.ts';
import { setupCommand } from './setup.ts';
import { stdioCommand } from './stdio.ts';
import { tokenCommand } from './token.ts';
import { versionCommand } from './version.ts';

export const COMMANDS: readonly Command[] = [stdioCommand, serveCommand, tokenCommand, migrateCommand, healthCommand, exportCommand, importCommand, reindexCommand, hookCommand, setupCommand, initSecretsCommand, versionCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
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
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') return versionCommand.run({}, []);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`sage: unknown command "${name}". Run "sage --help" for the list.\n`);
    return 2;
  }
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
