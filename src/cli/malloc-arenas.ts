/**
 * `sage serve` runs with glibc's malloc limited to two arenas (MALLOC_ARENA_MAX=2), as the Docker
 * image sets it. glibc gives each thread that allocates an arena of its own, up to eight per
 * core, and V8's worker threads each keep one partly filled: a long-running server pays for
 * them in resident memory (bench/SCALE-LOG.md: 6–7 MiB at 10,000 memories, 3–5 at 1,000,000; the
 * same speed). glibc reads the variable once, when the process starts, so the single
 * executable cannot set it for itself: it replaces itself (execve: the same PID, arguments and
 * environment, plus the variable) before it opens anything. Costs one more start (~0.2 s) per
 * server start; stdio and hooks, whose start-up is what a user waits for, are left alone.
 */
import { log } from '../log.ts';

export const ARENA_MAX = '2';

/** Whether the environment already decides glibc's arena count (any value is respected). */
export function arenaCountDecided(env: NodeJS.ProcessEnv): boolean {
  return env['MALLOC_ARENA_MAX'] !== undefined || (env['GLIBC_TUNABLES'] ?? '').includes('glibc.malloc.arena_max');
}

/**
 * Replaces this process with the same command under MALLOC_ARENA_MAX=2, unless the environment
 * decides the arena count already; does not return then. Only the single executable on Linux
 * does: running from the sources (`node src/main.ts`, development and tests) keeps the process
 * as started. A failed replacement is logged and the server runs on as it is.
 */
export function limitMallocArenas(): void {
  if (process.platform !== 'linux' || arenaCountDecided(process.env) || typeof process.execve !== 'function') return;
  // getBuiltinModule, not import(): a dynamic import() has no loader in the single executable.
  if (!process.getBuiltinModule('node:sea')?.isSea()) return;
  // In a single executable Node repeats the executable as argv[1]; the command as typed is
  // argv[0] followed by argv[2…].
  const argv = [process.argv[0] ?? process.execPath, ...process.argv.slice(2)];
  try {
    process.execve(process.execPath, argv, { ...process.env, MALLOC_ARENA_MAX: ARENA_MAX });
  } catch (err) {
    log.warn('could not restart with MALLOC_ARENA_MAX=2; serving with glibc defaults (more resident memory)', { error: err });
  }
}
