import type { Command } from 'commander';
import type { components } from '../api/openapi-types.ts';
import { call } from './client/api-call.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { type Connection, sessionConnection } from './client/connection.ts';
import { addProvisionFlags, type ProvisionFlags, provisionBody, withFlagHint } from './client/provision-flags.ts';
import { watchUntilSettled } from './client/watch-command.ts';

type Accepted = components['schemas']['ProvisionAccepted'];
export type RunOptions = ReadOptions & { watch?: boolean };

const ROLE_HINT = { 403: 'In an organisation only its admins provision and retry; ask one, or sign in as one.' };

export function registerProvision(program: Command): void {
  const provision = addProvisionFlags(
    program.command('provision').description("provision your fleet (creates your tenant if needed); the work runs in the server's workers"),
  ).option('--watch', 'then follow it live until the fleet settles (as `fleet status --watch`)');
  withJson(withUrl(provision), 'print the API answer as JSON');
  withExample(
    provision,
    'fleet provision --template standard-7-agent --repo acme/api --repo acme/web --watch',
    'fleet provision --discord-guild 111111111111111111 --discord-channel 222222222222222222 --discord-bot cantona=@cantona.token',
  );
  provision.action(async (opts: RunOptions & ProvisionFlags) => {
    const conn = sessionConnection(opts);
    const body = provisionBody(opts);
    const accepted = await call(conn.url, conn.api.POST('/api/fleet/provision', { body }), ROLE_HINT).catch((e) => {
      throw withFlagHint(e);
    });
    await reportRun(conn, accepted, opts);
  });

  const retry = program
    .command('retry')
    .description('resume a failed provisioning at the step that failed (completed steps are not run again)')
    .option('--watch', 'then follow it live until the fleet settles');
  withJson(withUrl(retry), 'print the API answer as JSON');
  withExample(retry, 'fleet retry --watch');
  retry.action(async (opts: RunOptions) => {
    const conn = sessionConnection(opts);
    const accepted = await call(conn.url, conn.api.POST('/api/fleet/retry'), {
      ...ROLE_HINT,
      409: 'Only a fleet in `error` can be retried; `fleet status` shows where it stands.',
    });
    await reportRun(conn, accepted, opts);
  });
}

export async function reportRun(conn: Connection, accepted: Accepted, opts: RunOptions): Promise<void> {
  if (opts.json && !opts.watch) return printJson(accepted);
  if (!opts.json) {
    const what = accepted.started ? `Run ${accepted.runId} started` : `Run ${accepted.runId} was already at work`;
    process.stdout.write(`${what}: fleet ${accepted.fleet.status} (template ${accepted.fleet.templateId}).\n`);
    if (!opts.watch) process.stdout.write('Follow it with: fleet status --watch\n');
  }
  if (opts.watch) await watchUntilSettled(conn, opts.json === true);
}
