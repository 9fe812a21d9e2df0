import type { Command } from 'commander';
import { call } from './client/api-call.ts';
import { printJson, type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { formatFleet, NO_FLEET } from './client/fleet-view.ts';
import { watchUntilSettled } from './client/watch-command.ts';

export function registerStatus(program: Command): void {
  const cmd = program
    .command('status')
    .description('your fleet: its status, agents, repos, machine and provisioning steps')
    .option('--watch', 'follow the provisioning live until the fleet settles; exits 1 when it ends in error');
  withJson(withUrl(cmd), 'print the API answer as JSON (with --watch: one event per line)');
  withExample(cmd, 'fleet status', 'fleet status --watch', 'fleet status --json | jq .fleet.status');
  cmd.action(async (opts: ReadOptions & { watch?: boolean }) => {
    const conn = sessionConnection(opts);
    if (opts.watch) return watchUntilSettled(conn, opts.json === true);
    const body = await call(conn.url, conn.api.GET('/api/fleet'));
    if (opts.json) return printJson(body);
    process.stdout.write(`${body.fleet ? formatFleet(body.fleet) : NO_FLEET}\n`);
  });
}
