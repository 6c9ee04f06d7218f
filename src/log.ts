/**
 * Structured logging: one JSON object per line on stderr, never stdout — in stdio mode stdout
 * belongs to the MCP protocol, and a stray line there corrupts the client's stream.
 *
 * Secrets never reach a log: connection strings are scrubbed of passwords and fields whose
 * name looks secret are replaced, whatever the caller passes.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|private/i;

let threshold: number = ORDER.info;
let sink: (line: string) => void = (line) => {
  process.stderr.write(line + '\n');
};

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

/** For tests: capture log lines instead of writing them. Returns a restore function. */
export function captureLogs(into: string[]): () => void {
  const previous = sink;
  sink = (line) => into.push(line);
  return () => {
    sink = previous;
  };
}

/** Removes the password from anything that looks like a URL with credentials. */
export function scrubUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

function clean(value: unknown, key: string, depth: number): unknown {
  if (SECRET_KEY.test(key)) return '[redacted]';
  if (typeof value === 'string') return scrubUrl(value);
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: scrubUrl(value.message) };
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    return out;
  }
  if (value && typeof value === 'object' && depth < 4) {
    if (Array.isArray(value)) return value.slice(0, 50).map((v) => clean(v, '', depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = clean(v, k, depth + 1);
    return out;
  }
  return value;
}

function emit(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] < threshold) return;
  const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg: scrubUrl(msg) };
  if (fields) for (const [k, v] of Object.entries(fields)) record[k] = clean(v, k, 0);
  let line: string;
  try {
    line = JSON.stringify(record);
  } catch {
    line = JSON.stringify({ time: record.time, level, msg: record.msg, note: 'fields not serialisable' });
  }
  try {
    sink(line);
  } catch {
    // A closed stderr must not take the server down.
  }
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => emit('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => emit('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => emit('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => emit('error', msg, fields),
};
