/**
 * Which project a Claude Code session belongs to, decided from where it runs — never guessed
 * by the model. In order:
 *
 *  1. an explicit `--project` (the command line), else SAGE_PROJECT when it is set,
 *  2. the configured map (SAGE_PROJECT_MAP / SAGE_PROJECT_MAP_FILE): the longest directory
 *     prefix of the working directory, or of CLAUDE_PROJECT_DIR, wins,
 *  3. the git repository around the working directory (or CLAUDE_PROJECT_DIR): the name of
 *     its root directory — for a linked worktree, the name of the main repository, so every
 *     worktree of a repository shares its memory. Found by reading `.git` upwards, without
 *     spawning git (a hook must be fast and git may not be installed),
 *  4. when those directories do not exist here (Sage in a container, the paths are the
 *     host's): the last component of CLAUDE_PROJECT_DIR, else of the working directory,
 *  5. the project named `default`.
 *
 * `sage stdio` and the hooks use the same rule (workspaceProject), so that what the model saves
 * and searches through its tools and what the hooks capture and inject land in one project.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';

export interface ProjectMapEntry {
  dir: string;
  project: string;
}

export interface ProjectSources {
  cwd?: string | null | undefined;
  /** CLAUDE_PROJECT_DIR: the directory Claude Code was started in. */
  projectDir?: string | null | undefined;
  explicit?: string | undefined;
  map?: readonly ProjectMapEntry[] | undefined;
  fallback: string;
}

export interface ResolvedProject {
  project: string;
  how: 'flag' | 'map' | 'git' | 'directory' | 'default';
}

function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return path.join(homedir(), p.slice(2));
  return p;
}

function normalizeDir(p: string): string {
  const resolved = path.resolve(expandHome(p.trim()));
  return resolved.length > 1 ? resolved.replace(/\/+$/, '') : resolved;
}

/**
 * Parses SAGE_PROJECT_MAP: a JSON object {"/dir": "project"}, or `/dir=project` entries, one
 * per line or separated by `;`. Lines starting with # are comments.
 */
export function parseProjectMap(value: string | undefined): ProjectMapEntry[] {
  if (value === undefined || value.trim() === '') return [];
  const text = value.trim();
  const pairs: Array<[string, unknown]> = [];
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigError('SAGE_PROJECT_MAP starts with "{" but is not a JSON object');
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError('SAGE_PROJECT_MAP must be a JSON object of directory → project');
    pairs.push(...Object.entries(parsed));
  } else {
    for (const raw of text.split(/[\n;]/)) {
      const entry = raw.trim();
      if (entry === '' || entry.startsWith('#')) continue;
      const eq = entry.lastIndexOf('=');
      if (eq <= 0) throw new ConfigError(`SAGE_PROJECT_MAP entry "${entry.slice(0, 80)}" is not DIRECTORY=PROJECT`);
      pairs.push([entry.slice(0, eq), entry.slice(eq + 1)]);
    }
  }
  return pairs.map(([dir, project]) => {
    if (typeof project !== 'string' || project.trim() === '' || /[\u0000-\u001f]/.test(project)) {
      throw new ConfigError(`SAGE_PROJECT_MAP: the project for "${dir}" must be a non-empty name`);
    }
    if (dir.trim() === '') throw new ConfigError('SAGE_PROJECT_MAP: a directory is empty');
    return { dir: normalizeDir(dir), project: project.trim() };
  });
}

function within(dir: string, root: string): boolean {
  return dir === root || dir.startsWith(root.endsWith('/') ? root : root + '/');
}

function fromMap(dir: string, map: readonly ProjectMapEntry[]): string | undefined {
  let best: ProjectMapEntry | undefined;
  for (const e of map) if (within(dir, e.dir) && (!best || e.dir.length > best.dir.length)) best = e;
  return best?.project;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The name of the git repository containing `dir`, or undefined. A `.git` directory marks a
 * repository root; a `.git` file (`gitdir: …`) marks a linked worktree or a submodule: for a
 * worktree (`…/.git/worktrees/<name>`) the main repository's name is used.
 */
export function gitProjectName(dir: string): string | undefined {
  let current = dir;
  for (let depth = 0; depth < 64; depth++) {
    const dotGit = path.join(current, '.git');
    let stat;
    try {
      stat = statSync(dotGit);
    } catch {
      stat = undefined;
    }
    // A repository at the home directory (dotfiles) says nothing about the project.
    if (stat && current === normalizeDir(homedir())) return undefined;
    if (stat?.isDirectory()) return path.basename(current) || undefined;
    if (stat?.isFile()) {
      try {
        const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
        if (pointer) {
          const gitdir = path.resolve(current, pointer);
          const worktree = /^(.*)\/\.git\/worktrees\/[^/]+$/.exec(gitdir);
          if (worktree?.[1]) return path.basename(worktree[1]) || undefined;
        }
      } catch {
        // unreadable pointer: the directory itself is still the repository root
      }
      return path.basename(current) || undefined;
    }
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
  return undefined;
}

/** A directory's last component, unless it says nothing (/, the home directory). */
function directoryName(dir: string): string | undefined {
  const name = path.basename(dir);
  if (!name || dir === '/' || dir === normalizeDir(homedir())) return undefined;
  return name;
}

export function resolveProject(sources: ProjectSources): ResolvedProject {
  if (sources.explicit !== undefined && sources.explicit.trim() !== '') return { project: sources.explicit.trim(), how: 'flag' };
  const dirs = [sources.cwd, sources.projectDir].filter((d): d is string => typeof d === 'string' && d.trim() !== '').map(normalizeDir);
  const map = sources.map ?? [];
  for (const dir of dirs) {
    const mapped = fromMap(dir, map);
    if (mapped) return { project: mapped, how: 'map' };
  }
  for (const dir of dirs) {
    if (!isDirectory(dir)) continue;
    const name = gitProjectName(dir);
    if (name) return { project: name, how: 'git' };
  }
  // Not a repository here, or not visible from here (a container sees none of the host's
  // paths): the directory Claude Code was started in names the project.
  const projectDir = sources.projectDir ? directoryName(normalizeDir(sources.projectDir)) : undefined;
  if (projectDir) return { project: projectDir, how: 'directory' };
  const cwd = sources.cwd ? directoryName(normalizeDir(sources.cwd)) : undefined;
  if (cwd) return { project: cwd, how: 'directory' };
  return { project: sources.fallback, how: 'default' };
}

/**
 * The project for a process started by a client in `cwd`: the rule above, with `--project`
 * and then SAGE_PROJECT as the explicit choice. Reads the map from its configuration.
 */
export function workspaceProject(
  flags: Partial<Record<string, string | boolean | undefined>>,
  cwd: string | null,
  env: Record<string, string | undefined> = process.env,
): ResolvedProject {
  const flag = typeof flags.project === 'string' ? flags.project : undefined;
  const fromEnv = env.SAGE_PROJECT !== undefined && env.SAGE_PROJECT.trim() !== '' ? env.SAGE_PROJECT : undefined;
  return resolveProject({
    explicit: flag ?? fromEnv,
    cwd,
    projectDir: env.CLAUDE_PROJECT_DIR,
    map: parseProjectMap(loadConfig(['projectMap'], flags, env).projectMap),
    fallback: 'default',
  });
}
