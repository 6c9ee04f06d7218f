/**
 * Runs a program to its end, as a hook or a user's shell would: `stdin` is written and closed,
 * the environment is PATH plus `env` only (so nothing of the test runner's leaks in), and
 * stdout and stderr come back whole. `sage` is the command under test from `sageCommand()`:
 * the sources, or the built binary when SAGE_TEST_BINARY is set.
 */
import { spawn } from 'node:child_process';
import { sageCommand } from './mcp.ts';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Spawn to close, in ms. */
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  stdin?: string;
  /** Kill the process and reject after this long; without it, the test's own timeout applies. */
  timeoutMs?: number;
}

export function runProcess(command: string, args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    // A process that exits without reading its input closes the pipe first (EPIPE): not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`${command} ${args.join(' ')} did not finish in ${options.timeoutMs} ms; stderr: ${stderr}`));
          }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** `sage ARGS` (sources or SAGE_TEST_BINARY) run to its end. */
export function runSageProcess(args: string[], options: RunOptions = {}): Promise<ProcessResult> {
  const { command, args: base } = sageCommand();
  return runProcess(command, [...base, ...args], options);
}
