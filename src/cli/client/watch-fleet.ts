import { call } from './api-call.ts';
import { CliError, EXIT } from './cli-error.ts';
import type { Connection } from './connection.ts';
import { type FleetEvent, fleetEvents } from './event-stream.ts';
import type { Fleet, FleetStatus, LogEntry } from './fleet-types.ts';
import type { WatchView } from './watch-views.ts';

/** Statuses no run moves a fleet out of by itself: watching ends there. */
const SETTLED: readonly FleetStatus[] = ['active', 'error', 'suspended'];

/**
 * Follows the caller's fleet through its event stream until it settles, showing every change
 * in `view` (and handing each raw event to `onEvent`, for --json). Resolves with the final fleet.
 */
export async function watchFleet(conn: Connection, view: WatchView, onEvent?: (e: FleetEvent) => void): Promise<Fleet> {
  let fleet: Fleet | null = null;
  for await (const e of fleetEvents(conn)) {
    onEvent?.(e);
    if (e.event === 'session-expired') {
      view.finish(fleet);
      throw new CliError('The session token expired while watching.', 'Sign in again with `fleet login`, then watch again.', EXIT.signIn);
    }
    const known = fleet as Fleet | null; // (a cast: TypeScript narrows `fleet` to its initial null here)
    if (e.event === 'snapshot') fleet = (e.data as { fleet: Fleet | null }).fleet;
    else if (!known) {
      // The tenant or its fleet was made after the stream opened: read it whole once.
      fleet = (await call(conn.url, conn.api.GET('/api/fleet'))).fleet;
    } else if (e.event === 'status') {
      fleet = { ...known, status: (e.data as { status: FleetStatus }).status };
    } else if (e.event === 'log') {
      const { step, status, message, durationMs, createdAt, runId = null } = e.data as Omit<LogEntry, 'runId'> & { runId?: string | null };
      // A fleet read whole after the stream opened may already hold the entries that follow.
      const seen = known.provisionLog.some((l) => l.step === step && l.status === status && l.createdAt === createdAt);
      if (!seen) fleet = { ...known, provisionLog: [...known.provisionLog, { step, status, message, durationMs, createdAt, runId }] };
    }
    if (fleet && SETTLED.includes(fleet.status)) {
      view.finish(fleet);
      return fleet;
    }
    view.update(fleet);
  }
  throw new Error('the event stream ended'); // fleetEvents reconnects or throws; it never just ends
}
