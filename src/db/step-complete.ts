import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { EVENTS_CHANNEL } from './events.ts';
import type { GcpResources } from '../domain/fleet.ts';
import type { ProvisionStep } from '../domain/steps.ts';

/**
 * A step's completion as ONE statement (one round trip, atomic on its own): its checkpoint, the
 * fleet's new machine details if any, its `complete` log entry, the event and its NOTIFY. The
 * checkpoint insert does nothing if one exists (a replay that raced another worker).
 */
export async function recordStepComplete(
  db: Db,
  s: {
    fleetId: string;
    tenantId: string;
    runId: string;
    step: ProvisionStep;
    position: number;
    output: Record<string, unknown>;
    message: string;
    durationMs: number;
    gcpResources?: GcpResources;
  },
): Promise<void> {
  const gcp = s.gcpResources ? JSON.stringify(s.gcpResources) : null;
  await sql`
    WITH c AS (
      INSERT INTO step_checkpoints (fleet_id, step, position, run_id, output)
      VALUES (${s.fleetId}, ${s.step}, ${s.position}, ${s.runId}, ${JSON.stringify(s.output)}::jsonb)
      ON CONFLICT (fleet_id, step) DO NOTHING
    ), g AS (
      UPDATE fleets SET gcp_resources = ${gcp}::jsonb, updated_at = now() WHERE id = ${s.fleetId} AND ${gcp}::jsonb IS NOT NULL
    ), l AS (
      INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms)
      VALUES (${s.fleetId}, ${s.runId}, ${s.step}, 'complete', ${s.message}, ${s.durationMs})
      RETURNING created_at
    ), ev AS (
      INSERT INTO fleet_events (tenant_id, type, data)
      SELECT ${s.tenantId}, 'log', jsonb_build_object(
        'runId', ${s.runId}::text, 'step', ${s.step}::text, 'status', 'complete', 'message', ${s.message}::text,
        'durationMs', ${s.durationMs}::int,
        'createdAt', to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      FROM l RETURNING id
    )
    SELECT pg_notify(${EVENTS_CHANNEL}, ${s.tenantId} || ':' || id) FROM ev`.execute(db);
}
