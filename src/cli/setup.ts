/**
 * `sage setup claude`: what Claude Code needs to use Sage — the MCP server registration and
 * the hooks (UserPromptSubmit → `sage hook prompt`; Stop and SessionEnd → `sage hook stop`) —
 * for one of three ways of running Sage:
 *
 *  - binary: the `sage` executable on this machine, PostgreSQL wherever DATABASE_URL says;
 *  - docker: Sage in a container named `sage` (`docker exec -i sage /sage …`). The container
 *    cannot open the host's transcript, so the stop hook streams it after the hook JSON (a
 *    POSIX sh one-liner: read the JSON, take transcript_path out of it with sed, send both);
 *    CLAUDE_PROJECT_DIR is passed through so the project is named after the host directory;
 *  - http: a remote Sage at --url with a bearer token from --token-file; the hooks still run
 *    the local binary, which talks MCP over HTTP.
 *
 * Without --write it prints everything. With --write it merges the hooks into Claude Code's
 * settings.json (and, with --mcp-json FILE, the server into that .mcp.json): earlier Sage
 * hooks are replaced, everything else is kept as it was, and the previous file is saved
 * beside it with a timestamp. The `claude mcp add` command is printed for the user to run
 * (Sage does not run other programs on the user's behalf).
 */
import { copyFile, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseProjectMap, resolveProject } from '../claude/project.ts';
import { loadConfig, type Flags } from '../config.ts';
import { InputError } from '../errors.ts';
import type { Command } from './command.ts';

export const MODES = ['binary', 'docker', 'http'] as const;
export type Mode = (typeof MODES)[number];

export interface SetupOptions {
  mode: Mode;
  /** The sage executable (binary and http modes). */
  binary: string;
  /** Container name (docker mode). */
  container: string;
  url?: string | undefined;
  tokenFile?: string | undefined;
  /** Environment the binary needs, e.g. DATABASE_URL_FILE (binary mode). */
  env: Record<string, string>;
}

export interface HookHandler {
  type: 'command';
  command: string;
  timeout: number;
}
export interface MatcherGroup {
  matcher?: string;
  hooks: HookHandler[];
}
export type HooksConfig = Record<'UserPromptSubmit' | 'Stop' | 'SessionEnd', MatcherGroup[]>;

export interface McpServerEntry {
  type?: 'stdio' | 'http';
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
}

export interface SetupPlan {
  mcpAdd: string;
  mcpEntry: McpServerEntry;
  hooks: HooksConfig;
  notes: string[];
}

/** POSIX shell quoting: bare when safe, else single quotes. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.:=@%+,-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function envPrefix(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${shellQuote(v)} `)
    .join('');
}

/**
 * The Docker stop hook: the hook JSON, then the transcript it names, on the container's stdin.
 * sed takes "transcript_path":"…" out of the JSON (Claude Code writes it on one line; the
 * path is ~/.claude/projects/<slug>/<uuid>.jsonl, no quotes in it). If the file cannot be
 * read only the JSON goes, and Sage says so on stderr and exits 0.
 */
export function dockerStopCommand(container: string): string {
  return (
    `i=$(cat); t=$(printf '%s' "$i" | sed -n 's/.*"transcript_path" *: *"\\([^"]*\\)".*/\\1/p' | head -n 1); ` +
    `{ printf '%s\\n' "$i"; if [ -n "$t" ] && [ -r "$t" ]; then cat "$t"; fi; } | ` +
    `docker exec -i -e CLAUDE_PROJECT_DIR ${shellQuote(container)} /sage hook stop --transcript-stdin`
  );
}

function group(command: string, timeout: number): MatcherGroup[] {
  return [{ hooks: [{ type: 'command', command, timeout }] }];
}

export function buildPlan(o: SetupOptions): SetupPlan {
  const notes: string[] = [];
  let prompt: string;
  let stop: string;
  let mcpAdd: string;
  let mcpEntry: McpServerEntry;
  if (o.mode === 'docker') {
    const c = shellQuote(o.container);
    prompt = `docker exec -i -e CLAUDE_PROJECT_DIR ${c} /sage hook prompt`;
    stop = dockerStopCommand(o.container);
    mcpAdd = `claude mcp add --scope user sage -- docker exec -i ${c} /sage stdio`;
    mcpEntry = { type: 'stdio', command: 'docker', args: ['exec', '-i', o.container, '/sage', 'stdio'] };
    notes.push(`The container must be running and named "${o.container}" (docker ps); it reads DATABASE_URL from its own environment.`);
  } else if (o.mode === 'http') {
    if (!o.url) throw new InputError('--mode http needs --url https://host/mcp');
    if (!o.tokenFile) throw new InputError('--mode http needs --token-file FILE (the bearer token, from "sage token" on the server)');
    const remote = `--url ${shellQuote(o.url)} --token-file ${shellQuote(o.tokenFile)}`;
    prompt = `${shellQuote(o.binary)} hook prompt ${remote}`;
    stop = `${shellQuote(o.binary)} hook stop ${remote}`;
    mcpAdd = `claude mcp add --transport http --scope user sage ${shellQuote(o.url)} --header "Authorization: Bearer $(cat ${shellQuote(o.tokenFile)})"`;
    mcpEntry = { type: 'http', url: o.url, headers: { Authorization: 'Bearer ${SAGE_TOKEN}' } };
    notes.push('claude mcp add stores the token in your Claude Code configuration; the .mcp.json entry instead reads it from $SAGE_TOKEN when Claude Code starts.');
  } else {
    const bin = `${envPrefix(o.env)}${shellQuote(o.binary)}`;
    prompt = `${bin} hook prompt`;
    stop = `${bin} hook stop`;
    const envFlags = Object.entries(o.env)
      .map(([k, v]) => `-e ${k}=${shellQuote(v)} `)
      .join('');
    mcpAdd = `claude mcp add --scope user ${envFlags}sage -- ${shellQuote(o.binary)} stdio`;
    mcpEntry = { type: 'stdio', command: o.binary, args: ['stdio'], ...(Object.keys(o.env).length ? { env: { ...o.env } } : {}) };
    if (!o.env.DATABASE_URL_FILE) {
      notes.push(
        'The hooks and the MCP server read DATABASE_URL from the environment Claude Code runs in. To keep the password out of ' +
          'your shell profile, put the URL in a file (chmod 600) and run this again with DATABASE_URL_FILE set.',
      );
    }
  }
  if (o.mode !== 'http') {
    notes.push(
      'The hooks file memories under the project of the working directory (its git repository\'s name); a server registered ' +
        'for all projects (claude mcp add --scope user) defaults to SAGE_PROJECT instead. To share one project per repository, ' +
        'register it in the repository with --write --mcp-json .mcp.json (the entry then starts with --project NAME).',
    );
  }
  return {
    mcpAdd,
    mcpEntry,
    hooks: { UserPromptSubmit: group(prompt, 10), Stop: group(stop, 60), SessionEnd: group(stop, 60) },
    notes,
  };
}

/** A hook command Sage wrote earlier (any mode), to be replaced rather than duplicated. */
export function isSageHook(command: unknown): boolean {
  return typeof command === 'string' && /(^|[\s/'"])sage['"]?\s+hook\s+(prompt|stop)\b/.test(command);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Merges Sage's hooks into Claude Code settings; everything that is not a Sage hook is kept. */
export function mergeHooks(settings: Record<string, unknown>, hooks: HooksConfig): Record<string, unknown> {
  if (settings.hooks !== undefined && !isObject(settings.hooks)) throw new InputError('settings.json has a "hooks" value that is not an object; fix it by hand first');
  const merged: Record<string, unknown> = { ...(settings.hooks as Record<string, unknown> | undefined) };
  for (const [event, groups] of Object.entries(hooks)) {
    const existing = merged[event];
    if (existing !== undefined && !Array.isArray(existing)) throw new InputError(`settings.json hooks.${event} is not an array; fix it by hand first`);
    const kept: unknown[] = [];
    for (const g of (existing as unknown[] | undefined) ?? []) {
      if (!isObject(g) || !Array.isArray(g.hooks)) {
        kept.push(g);
        continue;
      }
      const others = g.hooks.filter((h) => !(isObject(h) && isSageHook(h.command)));
      if (others.length > 0) kept.push({ ...g, hooks: others });
    }
    merged[event] = [...kept, ...groups];
  }
  return { ...settings, hooks: merged };
}

export function mergeMcpJson(config: Record<string, unknown>, entry: McpServerEntry, name = 'sage'): Record<string, unknown> {
  if (config.mcpServers !== undefined && !isObject(config.mcpServers)) throw new InputError('.mcp.json has an "mcpServers" value that is not an object; fix it by hand first');
  return { ...config, mcpServers: { ...(config.mcpServers as Record<string, unknown> | undefined), [name]: entry } };
}

function timestamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Reads a JSON object file (missing = {}), transforms it, writes it back atomically with the
 * same permissions, after copying the old file to FILE.bak-<UTC timestamp>. A file that is
 * not a JSON object is left alone.
 */
export async function rewriteJson(file: string, change: (value: Record<string, unknown>) => Record<string, unknown>, now = new Date()): Promise<{ backup: string | null }> {
  let text: string | undefined;
  let mode = 0o600;
  try {
    text = await readFile(file, 'utf8');
    mode = (await stat(file)).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new InputError(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  let value: unknown = {};
  if (text !== undefined && text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}); nothing was changed`);
    }
  }
  if (!isObject(value)) throw new InputError(`${file} does not hold a JSON object; nothing was changed`);
  const next = change(value);
  let backup: string | null = null;
  if (text !== undefined) {
    backup = `${file}.bak-${timestamp(now)}`;
    await copyFile(file, backup);
  }
  const tmp = `${file}.sage-${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode });
  await rename(tmp, file);
  return { backup };
}

/** The project the hooks derive for a directory, or undefined when only the default applies. */
function projectOf(dir: string, flags: Flags): string | undefined {
  const resolved = resolveProject({ cwd: dir, map: parseProjectMap(loadConfig(['projectMap'], flags).projectMap), fallback: '' });
  return resolved.how === 'default' ? undefined : resolved.project;
}

/** A stdio entry whose server starts with `--project NAME`; other entries unchanged. */
export function withProject(entry: McpServerEntry, project: string | undefined): McpServerEntry {
  if (!project || entry.type !== 'stdio' || !entry.args) return entry;
  return { ...entry, args: [...entry.args, '--project', project] };
}

/** Where Claude Code keeps its user settings ($CLAUDE_CONFIG_DIR or ~/.claude). */
export function defaultSettingsFile(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.CLAUDE_CONFIG_DIR && env.CLAUDE_CONFIG_DIR.trim() !== '' ? env.CLAUDE_CONFIG_DIR : path.join(homedir(), '.claude');
  return path.join(dir, 'settings.json');
}

/** The path of this executable when Sage runs as the single binary; `sage` (on PATH) otherwise. */
function defaultBinary(): string {
  // getBuiltinModule, not import(): a dynamic import() has no loader in the single executable
  // (it failed there, and setup wrote a bare `sage` that hooks could not find off PATH).
  return process.getBuiltinModule('node:sea')?.isSea() ? process.execPath : 'sage';
}

function render(plan: SetupPlan, mode: Mode, settingsFile: string): string {
  const lines = [
    `# Sage for Claude Code (mode: ${mode})`,
    '',
    '# 1. Register the MCP server (run once):',
    plan.mcpAdd,
    '',
    '#    or, for one project, put this in its .mcp.json:',
    JSON.stringify({ mcpServers: { sage: plan.mcpEntry } }, null, 2),
    '',
    `# 2. Hooks, to merge into ${settingsFile} (or run this command again with --write):`,
    JSON.stringify({ hooks: plan.hooks }, null, 2),
  ];
  if (plan.notes.length) lines.push('', ...plan.notes.map((n) => `# Note: ${n}`));
  return lines.join('\n') + '\n';
}

export const setupCommand: Command = {
  name: 'setup',
  summary: 'Print (or --write) the Claude Code MCP registration and hooks for Sage',
  usage: 'sage setup claude [--mode binary|docker|http] [--write] [options]',
  details: `  --mode MODE          binary (default): the sage executable here; docker: the container
                       named by --container; http: a remote Sage at --url with --token-file
  --write              Merge the hooks into Claude Code's settings.json (backup kept beside it)
  --settings FILE      Settings file to write (default $CLAUDE_CONFIG_DIR or ~/.claude/settings.json)
  --mcp-json FILE      With --write, also add the server to this .mcp.json (project scope)
  --binary PATH        The sage executable the hooks run (default: this one, else "sage")
  --container NAME     Docker container (default "sage")
  --url URL            http mode: the server's MCP endpoint (https://host/mcp)
  --token-file FILE    http mode: file holding the bearer token`,
  options: {
    mode: { type: 'string' },
    write: { type: 'boolean' },
    settings: { type: 'string' },
    'mcp-json': { type: 'string' },
    binary: { type: 'string' },
    container: { type: 'string' },
    url: { type: 'string' },
    'token-file': { type: 'string' },
  },
  async run(flags, positionals) {
    if (positionals.length !== 1 || positionals[0] !== 'claude') throw new InputError('usage: sage setup claude [--mode binary|docker|http] [--write]');
    const mode = (flags.mode ?? 'binary') as string;
    if (!(MODES as readonly string[]).includes(mode)) throw new InputError(`--mode must be one of ${MODES.join(', ')}`);
    const env: Record<string, string> = {};
    if (process.env.DATABASE_URL_FILE) env.DATABASE_URL_FILE = path.resolve(process.env.DATABASE_URL_FILE);
    const tokenFile = typeof flags['token-file'] === 'string' ? path.resolve(flags['token-file']) : undefined;
    const binary = typeof flags.binary === 'string' ? flags.binary : defaultBinary();
    const plan = buildPlan({
      mode: mode as Mode,
      binary,
      container: typeof flags.container === 'string' ? flags.container : 'sage',
      url: typeof flags.url === 'string' ? flags.url : undefined,
      tokenFile,
      env,
    });
    const settingsFile = typeof flags.settings === 'string' ? path.resolve(flags.settings) : defaultSettingsFile();
    if (!flags.write) {
      if (flags['mcp-json']) throw new InputError('--mcp-json is used with --write');
      process.stdout.write(render(plan, mode as Mode, settingsFile));
      return 0;
    }
    const written = await rewriteJson(settingsFile, (s) => mergeHooks(s, plan.hooks));
    process.stdout.write(`updated ${settingsFile}: UserPromptSubmit, Stop and SessionEnd hooks (${mode})${written.backup ? `; previous file saved as ${written.backup}` : ''}\n`);
    if (typeof flags['mcp-json'] === 'string') {
      const mcpFile = path.resolve(flags['mcp-json']);
      // A .mcp.json belongs to one project: pin the server's default project to the one the
      // hooks derive for that directory, so the model's tools and the hooks share memories.
      const entry = withProject(plan.mcpEntry, projectOf(path.dirname(mcpFile), flags));
      const mcp = await rewriteJson(mcpFile, (c) => mergeMcpJson(c, entry));
      process.stdout.write(`updated ${mcpFile}: mcpServers.sage${entry.args?.includes('--project') ? ` (project "${entry.args.at(-1)}")` : ''}${mcp.backup ? `; previous file saved as ${mcp.backup}` : ''}\n`);
    } else {
      process.stdout.write(`now register the MCP server (once):\n  ${plan.mcpAdd}\n`);
    }
    for (const note of plan.notes) process.stdout.write(`note: ${note}\n`);
    return 0;
  },
};
