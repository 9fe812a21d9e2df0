import type { Command } from 'commander';
import { CliError, EXIT, usageError } from './client/cli-error.ts';
import { type ReadOptions, withExample, withJson, withUrl } from './client/command-options.ts';
import { sessionConnection } from './client/connection.ts';
import { type FleetEvent, fleetEvents } from './client/event-stream.ts';
import type { Fleet, LogEntry } from './client/fleet-types.ts';
import { formatDuration } from './client/step-rows.ts';

export function registerEvents(program: Command): void {
  const cmd = program
    .command('events')
    .description("follow your fleet's events live (status changes, provision-log entries) until interrupted")
    .option('--since <eventId>', 'start after this event id instead of with a snapshot (0: every event so far)');
  withJson(withUrl(cmd), 'one JSON object per line: {"id","event","data"}');
  withExample(cmd, 'fleet events', 'fleet events --since 0 --json | jq -c .data');
  cmd.action(async (opts: ReadOptions & { since?: string }) => {
    if (opts.since !== undefined && !/^\d{1,18}$/.test(opts.since))
      throw usageError(`--since must be an event id (digits), got '${opts.since}'`);
    const conn = sessionConnection(opts);
    for await (const e of fleetEvents(conn, opts.since)) {
      process.stdout.write(`${opts.json ? JSON.stringify(e) : describeEvent(e)}\n`);
      if (e.event === 'session-expired') {
        throw new CliError(
          'The session token expired.',
          'Sign in again with `fleet login`, then `fleet events --since <last id>`.',
          EXIT.signIn,
        );
      }
    }
  });
}

function describeEvent(e: FleetEvent): string {
  const id = `#${e.id ?? '-'}`;
  if (e.event === 'snapshot') {
    const fleet = (e.data as { fleet: Fleet | null }).fleet;
    return `${id} snapshot ${fleet ? `${fleet.status}, ${fleet.provisionLog.length} log entries` : 'no fleet yet'}`;
  }
  if (e.event === 'status') {
    const d = e.data as { status: string; from?: string };
    return `${id} status ${d.from ? `${d.from} → ` : ''}${d.status}`;
  }
  if (e.event === 'log') {
    const d = e.data as LogEntry;
    const took = d.durationMs === null ? '' : ` (${formatDuration(d.durationMs)})`;
    return `${id} log ${d.createdAt} ${d.step} ${d.status}${took}${d.message ? `: ${d.message}` : ''}`;
  }
  return `${id} ${e.event} ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}`;
}
