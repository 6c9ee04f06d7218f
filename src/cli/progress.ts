/**
 * Progress for long CLI runs, on stderr only (stdout may be carrying the data itself, as in
 * `sage export > file`). On a terminal: one line redrawn in place, at most ten times a second.
 * Otherwise (a log file, CI): a plain line every few seconds, so a short run prints nothing but
 * its summary and a long one shows it is alive without flooding the log.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

export interface ProgressOptions {
  stream?: ProgressStream | undefined;
  /** Lines are at least this far apart when the stream is not a terminal. */
  intervalMs?: number | undefined;
  /** For tests. */
  now?: (() => number) | undefined;
}

const TTY_REDRAW_MS = 100;
const DEFAULT_INTERVAL_MS = 5_000;

/** 1234567 → "1,234,567" without depending on the locale. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  readonly #label: string;
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #started: number;
  #last: number;
  #drawn = false;

  constructor(label: string, options: ProgressOptions = {}) {
    this.#label = label;
    this.#stream = options.stream ?? process.stderr;
    this.#tty = this.#stream.isTTY === true;
    this.#interval = this.#tty ? TTY_REDRAW_MS : (options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#last = this.#started;
  }

  /** Seconds since the start. */
  elapsed(): number {
    return (this.#now() - this.#started) / 1000;
  }

  /**
   * Reports `done` units of work (for the rate) and, when known, the finished `fraction` of
   * the whole (for a percentage and an estimate of the time left). Throttled.
   */
  update(done: number, unit: string, fraction?: number, note?: string): void {
    const now = this.#now();
    if (now - this.#last < this.#interval) return;
    this.#last = now;
    const seconds = (now - this.#started) / 1000;
    const parts = [`${formatCount(done)} ${unit}`];
    if (seconds > 0) parts.push(`${formatCount(done / seconds)}/s`);
    if (fraction !== undefined && fraction > 0 && fraction <= 1) {
      parts.push(`${(fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)}%`);
      if (fraction < 1) parts.push(`about ${formatDuration((seconds / fraction) * (1 - fraction))} left`);
    }
    if (note) parts.push(note);
    const line = `${this.#label}: ${parts.join(', ')}`;
    if (this.#tty) {
      this.#stream.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      this.#stream.write(`${line}\n`);
    }
  }

  /** Clears the live line (on a terminal) and prints the final line. */
  finish(line: string): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K');
    this.#drawn = false;
    this.#stream.write(`${this.#label}: ${line}\n`);
  }
}

/**
 * Ctrl-C (or SIGTERM) during a long run: the first asks the work to stop after the current
 * batch (so what is committed is whole and the summary is true); a second stops at once.
 * Returns the signal to pass to the work and a function that removes the handlers.
 */
export function interruptible(label: string, stream: ProgressStream = process.stderr): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      stream.write(`\n${label}: stopped at once (${signal})\n`);
      process.exit(130);
    }
    stream.write(`\n${label}: ${signal}: stopping after the current batch (press Ctrl-C again to stop at once)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
