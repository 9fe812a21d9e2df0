import type { Command } from 'commander';
import { openDatabase } from '../runtime/database.ts';
import { cliLogger, loadCliConfig } from './common.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(async () => {
      const config = loadCliConfig();
      const db = await openDatabase(config, cliLogger(config.logLevel), { attach: true, schema: 'migrate' });
      await db.close();
      console.log('database is up to date');
    });
}
