import type { Command } from 'commander';
import { listTenants } from '../db/tenants.ts';
import { openDatabase } from '../runtime/database.ts';
import { cliLogger, loadCliConfig } from './common.ts';

export function registerTenants(program: Command): void {
  program
    .command('tenants')
    .description('list tenants and their fleet status')
    .option('--status <status>', 'only fleets in this status')
    .option('--json', 'print JSON')
    .action(async (opts: { status?: string; json?: boolean }) => {
      const config = loadCliConfig();
      const database = await openDatabase(config, cliLogger('warn'), { attach: true, schema: 'check' });
      try {
        const { rows } = await listTenants(database.db, { status: opts.status as never, limit: 1000 });
        if (opts.json) console.log(JSON.stringify(rows, null, 2));
        else if (rows.length === 0) console.log('no tenants');
        else {
          for (const t of rows) {
            console.log(
              `${t.slug.padEnd(24)} ${t.id}  ${(t.fleet_status ?? '-').padEnd(12)} ${t.plan.padEnd(10)} ${t.clerk_org_id ?? t.clerk_user_id}`,
            );
          }
        }
      } finally {
        await database.close();
      }
    });
}
