import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { EVENTS_CHANNEL } from './events.ts';
import type { LogStatus, ProvisionStep } from '../domain/steps.ts';

/**
 * Appends a provision-log entry, its event and the event's NOTIFY (so SSE clients and caches see
 * it) in one statement: atomic on its own, or part of the caller's transaction.
 */
export async function appendLog(
  db: Db,
  e: { fleetId: string; tenantId: string; runId: string; step: ProvisionStep; status: LogStatus; message: string | null; durationMs: number | null },
): Promise<void> {
  await sql`
    WITH l AS (
      INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms)
      VALUES (${e.fleetId}, ${e.runId}, ${e.step}, ${e.status}, ${e.message}, ${e.durationMs})
      RETURNING created_at
    ), ev AS (
      INSERT INTO fleet_events (tenant_id, type, data)
      SELECT ${e.tenantId}, 'log', jsonb_build_object(
        'runId', ${e.runId}::text, 'step', ${e.step}::text, 'status', ${e.status}::text, 'message', ${e.message}::text,
        'durationMs', ${e.durationMs}::int,
        'createdAt', to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      FROM l RETURNING id
    )
    SELECT pg_notify(${EVENTS_CHANNEL}, ${e.tenantId} || ':' || id) FROM ev`.execute(db);
}
