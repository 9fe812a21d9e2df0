import type { Command } from 'commander';
import { cliLogger, loadCliConfig } from './common.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .addHelpText('after', '\nExample:\n  DATABASE_URL=postgres://… fleet migrate\n')
    .action(async () => {
      // Loaded here, not at the top: client commands must not pay for the database code's import.
      const { openDatabase } = await import('../runtime/database.ts');
      const config = loadCliConfig();
      const db = await openDatabase(config, cliLogger(config.logLevel), {
        attach: true,
        schema: 'migrate',
        preparedStatements: config.dbPreparedStatements,
      });
      await db.close();
      console.log('database is up to date');
    });
}
