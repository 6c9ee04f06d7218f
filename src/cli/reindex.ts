/**
 * `sage reindex [--all]`: recomputes vectors and lexemes of memories derived by another
 * vectorizer version (after a change of SAGE_VECTOR_DIMENSION or an upgrade that bumps the
 * vectorizer), or of every memory with --all. Safe while servers run: short batches, each in
 * its own transaction, locking only its own rows. Interrupt and run again to continue.
 */
import { reindex, type ReindexSummary } from '../memory/transfer.ts';
import { openRuntime, type Command } from './command.ts';
import { formatCount, interruptible, Progress } from './progress.ts';

export const reindexCommand: Command = {
  name: 'reindex',
  summary: 'Recompute vectors and lexemes after a vectorizer change (stale memories, or --all)',
  usage: 'sage reindex [--all] [options]',
  details: `  --all                Recompute every memory, not only stale ones. The current version comes
                       from SAGE_VECTOR_DIMENSION: run reindex with the servers' setting.
  --json               Also print the summary as one JSON line on stdout
  --database-url URL   PostgreSQL URL (env DATABASE_URL or DATABASE_URL_FILE)
  --tenant NAME        Tenant to reindex (env SAGE_TENANT, default "local")
  --log-level LEVEL    debug | info | warn | error | silent (env SAGE_LOG_LEVEL)`,
  options: {
    'database-url': { type: 'string' },
    tenant: { type: 'string' },
    'log-level': { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(flags) {
    const runtime = openRuntime(flags, 'sage-reindex');
    const progress = new Progress('sage reindex');
    const { signal, release } = interruptible('sage reindex');
    let last: ReindexSummary | undefined;
    const report = (s: ReindexSummary, error: string | null) => {
      const seconds = progress.elapsed();
      if (flags.json) process.stdout.write(JSON.stringify({ ...s, seconds: Math.round(seconds * 1000) / 1000, error }) + '\n');
      return seconds;
    };
    try {
      const summary = await reindex(
        { db: runtime.db, tenant: runtime.tenant, dimension: runtime.service.dimension },
        {
          all: flags.all === true,
          signal,
          onProgress: (s) => {
            last = s;
            progress.update(s.reindexed, 'memories', s.total > 0 ? s.reindexed / s.total : undefined);
          },
        },
      );
      const seconds = report(summary, null);
      progress.finish(
        summary.total === 0
          ? `nothing to do: every memory of tenant "${runtime.tenant}" uses ${summary.vectorizer_version}`
          : `reindexed ${formatCount(summary.reindexed)} memories of tenant "${runtime.tenant}" with ${summary.vectorizer_version} in ${seconds.toFixed(1)}s`,
      );
      return 0;
    } catch (err) {
      if (last) report(last, err instanceof Error ? err.message : String(err));
      if (signal.aborted) {
        progress.finish(`interrupted after ${formatCount(last?.reindexed ?? 0)} memories; run it again to continue`);
        return 130;
      }
      throw err;
    } finally {
      release();
      await runtime.db.close();
    }
  },
};
