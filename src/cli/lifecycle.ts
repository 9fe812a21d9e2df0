import type { Command } from 'commander';
import type { components } from '../api/openapi-types.ts';
import { call } from './client/api-call.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { watchUntilSettled } from './client/watch-command.ts';

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
    if (opts.watch) await watchUntilSettled(conn, opts.json === true);
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
    if (opts.watch) await watchUntilSettled(conn, opts.json === true);
  });

  const cancel = program
    .command('cancel')
    .description('stop the provisioning at work at its next safe point (the fleet ends in error; `fleet retry` resumes it)');
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
    if (opts.watch) await watchUntilSettled(conn, opts.json === true);
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
