import { DATABASE_HELP, DATABASE_OPTIONS, openRuntime, type Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit (every command also does this on start)',
  usage: 'sage migrate [options]',
  details: DATABASE_HELP,
  options: DATABASE_OPTIONS,
  async run(flags) {
    const { db } = openRuntime(flags, 'sage-migrate');
    try {
      const report = await db.ready();
      process.stdout.write(
        report.applied.length > 0 ? `applied migrations ${report.applied.join(', ')}; schema version ${report.current}\n` : `schema is up to date (version ${report.current})\n`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};
