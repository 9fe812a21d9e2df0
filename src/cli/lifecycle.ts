import type { Command } from 'commander';
import type { components } from '../api/openapi-types.ts';
import { call } from './client/api-call.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { type Connection, sessionConnection } from './client/connection.ts';
import { CliError } from './client/cli-error.ts';

type RunAccepted = components['schemas']['RunAccepted'];
type LifecycleOptions = ReadOptions & { watch?: boolean; reason?: string };

const ADMIN_HINT = { 403: 'In an organisation only its admins change the fleet; ask one, or sign in as one.' };
const STATE_HINT = { 409: '`fleet status` shows where the fleet stands; the message above says what is allowed from there.' };

/** `fleet suspend | resume | cancel | deprovision`: the lifecycle verbs of the caller's fleet, over HTTP. */
export function registerLifecycle(program: Command): void {
  const suspend = program
    .command('suspend')
    .description('stop the fleet (gateway and machine), keeping all its data; `fleet resume` brings it back')
    .option('--reason <text>', 'why, for the log')
    .option('--watch', 'then follow the run until the fleet settles');
  withJson(withUrl(suspend), 'print the API answer as JSON');
  withExample(suspend, 'fleet suspend --reason "holiday" --watch');
  suspend.action(async (opts: LifecycleOptions) => {
    const conn = sessionConnection(opts);
    const body = opts.reason === undefined ? {} : { reason: opts.reason };
    report(await call(conn.url, conn.api.POST('/api/fleet/suspend', { body }), { ...ADMIN_HINT, ...STATE_HINT }), opts);
    if (opts.watch) await waitForEnd(conn, 'suspended', opts);
  });

  const resume = program
    .command('resume')
    .description('start a suspended fleet again: machine, gateway, health check, then active')
    .option('--watch', 'then follow the run until the fleet settles');
  withJson(withUrl(resume), 'print the API answer as JSON');
  withExample(resume, 'fleet resume --watch');
  resume.action(async (opts: LifecycleOptions) => {
    const conn = sessionConnection(opts);
    report(await call(conn.url, conn.api.POST('/api/fleet/resume'), { ...ADMIN_HINT, ...STATE_HINT }), opts);
    if (opts.watch) await waitForEnd(conn, 'active', opts);
  });

  const cancel = program
    .command('cancel')
    .description('stop the provision or reprovision at work at its next safe point (the fleet ends in error; `fleet retry` resumes it)');
  withJson(withUrl(cancel), 'print the API answer as JSON');
  withExample(cancel, 'fleet cancel');
  cancel.action(async (opts: ReadOptions) => {
    const conn = sessionConnection(opts);
    const accepted = await call(conn.url, conn.api.POST('/api/fleet/cancel'), { ...ADMIN_HINT, ...STATE_HINT });
    if (opts.json) return printJson(accepted);
    process.stdout.write(
      `Run ${accepted.runId} ${accepted.stopped === 'at-once' ? 'cancelled before it started' : 'stops at its next safe point'}.\n`,
    );
  });

  const deprovision = program
    .command('deprovision')
    .description('delete the fleet: its machine, its secrets, then the fleet itself (the audit log is kept)')
    .requiredOption('--yes', 'confirm: this cannot be undone')
    .option('--watch', 'then follow the run until the fleet is gone');
  withJson(withUrl(deprovision), 'print the API answer as JSON');
  withExample(deprovision, 'fleet deprovision --yes --watch');
  deprovision.action(async (opts: LifecycleOptions) => {
    const conn = sessionConnection(opts);
    report(await call(conn.url, conn.api.DELETE('/api/fleet'), { ...ADMIN_HINT, ...STATE_HINT }), opts);
    if (opts.watch) await waitForEnd(conn, null, opts);
  });
}

function report(accepted: RunAccepted, opts: LifecycleOptions): void {
  if (opts.json) {
    if (!opts.watch) printJson(accepted);
    return;
  }
  const what = accepted.started
    ? `${accepted.kind} run ${accepted.runId} started`
    : `${accepted.kind} run ${accepted.runId} was already at work`;
  process.stdout.write(`${what}${accepted.fleet ? `: fleet ${accepted.fleet.status}` : ''}.\n`);
  if (!opts.watch) process.stdout.write('Follow it with: fleet status --watch\n');
}

/**
 * Follows a lifecycle run to its end. Such runs leave the status as it is while they work (a
 * suspending fleet still says `active`), so this waits for the status the run ends with — or
 * `error`, or the fleet gone for a deprovision — reading the fleet every half second.
 */
async function waitForEnd(conn: Connection, target: 'active' | 'suspended' | null, opts: LifecycleOptions): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    const { fleet } = await call(conn.url, conn.api.GET('/api/fleet'));
    const status = fleet?.status ?? null;
    if (status === target || status === 'error') {
      if (!opts.json) process.stdout.write(status === null ? 'fleet deprovisioned\n' : `fleet ${status}\n`);
      if (status === 'error') {
        const failed = fleet?.provisionLog.filter((e) => e.status === 'error').at(-1);
        throw new CliError(
          `the run ended in error${failed ? ` at ${failed.step}: ${failed.message ?? ''}` : ''}`,
          '`fleet status` shows the log; `fleet retry` tries the run again.',
        );
      }
      return;
    }
    if (Date.now() > deadline) throw new CliError('the run did not end within 30 minutes', 'Follow it with `fleet status --watch`.');
    await new Promise((r) => setTimeout(r, 500));
  }
}
