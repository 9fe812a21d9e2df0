import type { Command } from 'commander';
import { call } from './client/api-call.ts';
import { printJson, withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { watchUntilSettled } from './client/watch-command.ts';
import type { RunOptions } from './provision.ts';

const HINTS = {
  400: 'Give --confirm with your fleet’s tenantId, the one the message above names.',
  403: 'In an organisation only its admins change the fleet; ask one, or sign in as one.',
  409: '`fleet status` shows where the fleet stands; the message above says what is allowed from there.',
};

/** `fleet reprovision --confirm <tenantId>`: delete the fleet's machine and build it again from its stored settings. */
export function registerReprovision(program: Command): void {
  const reprovision = program
    .command('reprovision')
    .description('delete your fleet’s machine and build it again from its stored settings, as one run (settings and secrets are kept)')
    .requiredOption(
      '--confirm <tenantId>',
      'your fleet’s tenantId, typed out (a wrong one is refused with the right one named): the machine and everything on it is deleted',
    )
    .option('--watch', 'then follow it live until the fleet settles (as `fleet status --watch`)');
  withJson(withUrl(reprovision), 'print the API answer as JSON');
  withExample(reprovision, 'fleet reprovision --confirm auto_acme --watch');
  reprovision.action(async (opts: RunOptions & { confirm: string }) => {
    const conn = sessionConnection(opts);
    const accepted = await call(conn.url, conn.api.POST('/api/fleet/reprovision', { body: { confirm: opts.confirm } }), HINTS);
    if (opts.json && !opts.watch) return printJson(accepted);
    if (!opts.json) {
      const what = accepted.started ? `reprovision run ${accepted.runId} started` : `reprovision run ${accepted.runId} was already at work`;
      process.stdout.write(`${what}${accepted.fleet ? `: fleet ${accepted.fleet.status}` : ''}.\n`);
      if (!opts.watch) process.stdout.write('Follow it with: fleet status --watch\n');
    }
    if (opts.watch) await watchUntilSettled(conn, opts.json === true);
  });
}
