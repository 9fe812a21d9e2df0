import { CliError } from './cli-error.ts';
import type { Connection } from './connection.ts';
import { stepRows } from './step-rows.ts';
import { watchFleet } from './watch-fleet.ts';
import { PlainWatchView, TerminalWatchView, type WatchView } from './watch-views.ts';

/**
 * `--watch` as status, provision and retry run it: live steps in a terminal, plain lines in a
 * pipe, one JSON event per line with --json. Resolves when the fleet settles; a run that ended
 * in `error` is a CliError (exit 1) carrying the failed step's message.
 */
export async function watchUntilSettled(conn: Connection, json: boolean): Promise<void> {
  let view: WatchView;
  if (json) view = { update: () => {}, finish: () => {} };
  else if (process.stdout.isTTY) view = new TerminalWatchView(process.stdout, !process.env.NO_COLOR);
  else view = new PlainWatchView((line) => process.stdout.write(`${line}\n`));
  const onEvent = json
    ? (e: { id: string | undefined; event: string; data: unknown }) => process.stdout.write(`${JSON.stringify(e)}\n`)
    : undefined;
  const fleet = await watchFleet(conn, view, onEvent);
  if (fleet.status !== 'error') return;
  const failed = stepRows(fleet.provisionLog, fleet.status).find((r) => r.state === 'error');
  throw new CliError(
    failed ? `Provisioning failed at ${failed.step}: ${failed.message ?? 'no message'}` : 'Provisioning failed.',
    'Fix what the step says, then `fleet retry` (or `fleet provision` again with the corrected settings).',
  );
}
