/**
 * `sage health`: one line and exit 0 (healthy) or 1. It is the container HEALTHCHECK, since
 * the distroless image has no curl: it checks that PostgreSQL answers and the schema is current.
 */
import { DATABASE_HELP, DATABASE_OPTIONS, openRuntime, type Command } from './command.ts';

export const healthCommand: Command = {
  name: 'health',
  summary: 'Check that PostgreSQL is reachable and the schema is current; exit 0 or 1',
  usage: 'sage health [options]',
  details: DATABASE_HELP,
  options: DATABASE_OPTIONS,
  async run(flags) {
    const { db } = openRuntime({ 'log-level': 'silent', ...flags }, 'sage-health');
    try {
      const report = await db.ready();
      const ping = await db.ping();
      process.stdout.write(`ok: postgres ${ping.serverVersion}, schema ${report.current}, ${ping.latencyMs.toFixed(1)} ms\n`);
      return 0;
    } catch (err) {
      process.stdout.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    } finally {
      await db.close().catch(() => undefined);
    }
  },
};
