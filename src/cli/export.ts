/**
 * `sage export [--out FILE]`: the tenant's sessions and memories as JSONL (format in
 * src/memory/transfer.ts). stdout carries only the data; the summary and progress go to stderr.
 * A file is written under a temporary name (mode 0600: memories are private) and renamed into
 * place only when complete, so a failed or interrupted export never leaves a truncated file
 * that looks like a backup.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { InputError } from '../errors.ts';
import { exportJsonl, type ExportSummary } from '../memory/transfer.ts';
import { DATABASE_OPTIONS, openRuntime, type Command } from './command.ts';
import { formatCount, interruptible, Progress } from './progress.ts';

/** Writes to a stream and waits for it to drain, so a slow reader holds the export back instead of memory filling up. */
function streamWriter(stream: Writable): { write: (text: string) => Promise<void>; release: () => void } {
  let failure: Error | undefined;
  const onError = (err: Error) => {
    failure ??= err;
  };
  stream.on('error', onError);
  return {
    write: (text) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(new InputError(`cannot write the export: ${failure.message}`));
        const onDrain = () => {
          stream.removeListener('error', onFail);
          resolve();
        };
        const onFail = (err: Error) => {
          stream.removeListener('drain', onDrain);
          reject(new InputError(`cannot write the export: ${err.message}`));
        };
        if (stream.write(text)) return resolve();
        stream.once('drain', onDrain);
        stream.once('error', onFail);
      }),
    release: () => stream.removeListener('error', onError),
  };
}

async function exportToFile(path: string, work: (write: (text: string) => Promise<void>) => Promise<ExportSummary>): Promise<ExportSummary> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  let handle: FileHandle;
  try {
    handle = await open(temporary, 'wx', 0o600);
  } catch (err) {
    throw new InputError(`cannot create ${temporary}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let complete = false;
  try {
    const summary = await work(async (text) => {
      await handle.write(text);
    });
    await handle.sync();
    await handle.close();
    await rename(temporary, path);
    complete = true;
    return summary;
  } finally {
    if (!complete) {
      await handle.close().catch(() => undefined);
      await unlink(temporary).catch(() => undefined);
    }
  }
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'Write the tenant\'s memories and sessions as JSONL (a lossless backup; see "sage import")',
  usage: 'sage export [--out FILE] [--project NAME] [--include-deleted] [options]',
  details: `  -o, --out FILE       Write to FILE (mode 0600, replaced only when complete); default stdout
  --project NAME       Only this project (default: every project of the tenant; SAGE_PROJECT is not a filter here)
  --include-deleted    Also export forgotten memories (off by default: what a user forgot
                       stays out of files that get copied and shared; on for a forensic copy)
  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --tenant NAME        Tenant whose data is exported (env SAGE_TENANT, default "local")
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL)`,
  options: { ...DATABASE_OPTIONS, out: { type: 'string', short: 'o' }, 'include-deleted': { type: 'boolean' } },
  async run(flags) {
    const runtime = openRuntime(flags, 'sage-export');
    const out = typeof flags.out === 'string' && flags.out !== '-' ? flags.out : undefined;
    const project = typeof flags.project === 'string' ? flags.project : undefined;
    const progress = new Progress('sage export');
    const { signal, release } = interruptible('sage export');
    const ctx = { db: runtime.db, tenant: runtime.tenant, dimension: runtime.service.dimension };
    const options = {
      project,
      includeDeleted: flags['include-deleted'] === true,
      signal,
      onProgress: (s: ExportSummary) => progress.update(s.memories, 'memories', undefined, `${formatCount(s.sessions)} sessions`),
    };
    try {
      let summary: ExportSummary;
      if (out) {
        summary = await exportToFile(out, (write) => exportJsonl(ctx, write, options));
      } else {
        const writer = streamWriter(process.stdout);
        try {
          summary = await exportJsonl(ctx, writer.write, options);
        } finally {
          writer.release();
        }
      }
      const forgotten = summary.deleted > 0 ? ` (${formatCount(summary.deleted)} forgotten)` : '';
      progress.finish(
        `exported ${formatCount(summary.memories)} memories${forgotten} and ${formatCount(summary.sessions)} sessions of tenant "${runtime.tenant}"` +
          `${project !== undefined ? `, project "${project}"` : ''} to ${out ?? 'stdout'} in ${progress.elapsed().toFixed(1)}s`,
      );
      return 0;
    } catch (err) {
      if (signal.aborted) {
        progress.finish(`interrupted; ${out ? `${out} was not written` : 'the output is incomplete'}`);
        return 130;
      }
      throw err;
    } finally {
      release();
      await runtime.db.close();
    }
  },
};
