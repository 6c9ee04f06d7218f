/**
 * `sage import [FILE|-]`: reads a Sage export (JSONL) from FILE or stdin into the configured
 * tenant. Every line is validated; at the first bad line the import stops, naming the line,
 * after committing the valid lines before it. Import is idempotent, so the fix is: correct
 * the line and run the same import again. Progress and the summary go to stderr; with --json
 * the summary is also printed on stdout as one JSON line.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { loadConfig } from '../config.ts';
import { InputError } from '../errors.ts';
import { ImportError, importJsonl, type ImportContext, type ImportSummary } from '../memory/transfer.ts';
import { openRuntime, type Command } from './command.ts';
import { IMPORT_SOURCE_HELP, IMPORT_SOURCE_OPTIONS, isImportSource, runImportSource } from './import-sources.ts';
import { formatCount, interruptible, Progress } from './progress.ts';

function describe(s: ImportSummary, seconds: number, tenant: string): string {
  const rate = seconds > 0 ? `, ${formatCount(s.memories / seconds)} memories/s` : '';
  const from = s.header && s.header.tenant !== tenant ? ` (exported from tenant "${s.header.tenant}")` : '';
  return (
    `imported ${formatCount(s.imported)}, duplicates ${formatCount(s.duplicates)}, skipped ${formatCount(s.skipped)} (already present) ` +
    `of ${formatCount(s.memories)} memories; ${formatCount(s.sessions)} sessions (${formatCount(s.sessionsCreated)} new) ` +
    `into tenant "${tenant}"${from}; ${formatCount(s.lines)} lines in ${seconds.toFixed(1)}s${rate}`
  );
}

function json(s: ImportSummary, seconds: number, extra: Record<string, unknown>): string {
  return JSON.stringify({
    lines: s.lines,
    memories: s.memories,
    imported: s.imported,
    duplicates: s.duplicates,
    skipped: s.skipped,
    sessions: s.sessions,
    sessions_created: s.sessionsCreated,
    seconds: Math.round(seconds * 1000) / 1000,
    memories_per_s: seconds > 0 ? Math.round(s.memories / seconds) : null,
    ...extra,
  });
}

async function openInput(file: string | undefined): Promise<{ stream: Readable | AsyncIterable<Uint8Array>; size: number | undefined; close: () => Promise<void> }> {
  if (file === undefined || file === '-') {
    return { stream: process.stdin, size: undefined, close: async () => undefined };
  }
  try {
    const handle = await open(file, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) {
      await handle.close();
      throw new InputError(`${file} is not a regular file`);
    }
    return { stream: handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }), size: stat.size, close: () => handle.close() };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export const importCommand: Command = {
  name: 'import',
  summary: 'Read a Sage export (JSONL) into the tenant; idempotent, keeps ids and timestamps',
  usage: 'sage import [FILE|-] [options]  |  sage import claude-transcripts [DIR]  |  sage import memory-graph FILE',
  details: `  FILE                 The export to read; "-" or nothing reads stdin. Nothing is overwritten:
                       a memory whose id exists is skipped, and so is one whose content already
                       lives in its project (a duplicate). Vectors and lexemes are derived anew
                       with this Sage's vectorizer (SAGE_VECTOR_DIMENSION).
  --dry-run            Validate every line and count, write nothing (needs no database)
  --json               Also print the summary as one JSON line on stdout
  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --tenant NAME        Tenant to import into (env SAGE_TENANT, default "local")
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL)
${IMPORT_SOURCE_HELP}`,
  options: {
    ...IMPORT_SOURCE_OPTIONS,
    'database-url': { type: 'string' },
    tenant: { type: 'string' },
    'log-level': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(flags, positionals) {
    if (isImportSource(positionals[0])) return runImportSource(positionals[0], flags, positionals.slice(1));
    if (positionals.length > 1) {
      process.stderr.write(`sage import: one input at a time (got ${positionals.length}). Run "sage import --help".\n`);
      return 2;
    }
    const file = positionals[0];
    if ((file === undefined || file === '-') && process.stdin.isTTY) {
      process.stderr.write('sage import: reading an export from the terminal; pass FILE or pipe the export in (sage import backup.jsonl)\n');
      return 2;
    }
    const dryRun = flags['dry-run'] === true;
    let runtime: ReturnType<typeof openRuntime> | undefined;
    let ctx: ImportContext;
    if (dryRun) {
      const config = loadConfig(['tenant', 'vectorDimension'], flags);
      ctx = { db: undefined, tenant: config.tenant, dimension: config.vectorDimension };
    } else {
      runtime = openRuntime(flags, 'sage-import');
      ctx = { db: runtime.db, tenant: runtime.tenant, dimension: runtime.service.dimension };
    }
    const label = dryRun ? 'sage import --dry-run' : 'sage import';
    const progress = new Progress(label);
    const { signal, release } = interruptible(label);
    let input: Awaited<ReturnType<typeof openInput>> | undefined;
    let last: ImportSummary | undefined;
    try {
      input = await openInput(file);
      const size = input.size;
      const summary = await importJsonl(ctx, input.stream, {
        dryRun,
        signal,
        onProgress: (s) => {
          last = s;
          progress.update(s.memories, 'memories', size ? s.bytes / size : undefined, `${formatCount(s.imported)} new`);
        },
      });
      const seconds = progress.elapsed();
      progress.finish(dryRun ? `valid: ${formatCount(summary.memories)} memories and ${formatCount(summary.sessions)} sessions in ${formatCount(summary.lines)} lines; nothing written` : describe(summary, seconds, ctx.tenant));
      if (flags.json) process.stdout.write(json(summary, seconds, { dry_run: dryRun, error: null }) + '\n');
      return 0;
    } catch (err) {
      const summary = err instanceof ImportError ? err.summary : last;
      const seconds = progress.elapsed();
      if (summary) progress.finish(dryRun ? `checked ${formatCount(summary.lines)} lines; nothing written` : describe(summary, seconds, ctx.tenant));
      const message = err instanceof Error ? err.message : String(err);
      if (flags.json && summary) process.stdout.write(json(summary, seconds, { dry_run: dryRun, error: message }) + '\n');
      if (signal.aborted) {
        process.stderr.write(`sage import: interrupted; run the same import again to continue (what is imported is skipped)\n`);
        return 130;
      }
      if (err instanceof ImportError && !dryRun) {
        process.stderr.write(`sage import: ${message}\nFix that line and run the same import again: memories already imported are skipped.\n`);
        return 1;
      }
      throw err;
    } finally {
      release();
      await input?.close().catch(() => undefined);
      await runtime?.db.close();
    }
  },
};
