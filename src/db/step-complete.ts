import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { EVENTS_CHANNEL } from './events.ts';
import type { GcpResources } from '../domain/fleet.ts';
import type { ProvisionStep } from '../domain/steps.ts';

/**
 * A step's completion as ONE statement (one round trip, atomic on its own): its checkpoint, the
 * fleet's new machine details if any, its `complete` log entry, the event and its NOTIFY — only
 * while `worker` still owns the run (a worker whose run was handed to another writes nothing).
 * Returns false when it no longer owns the run.
 */
export async function recordStepComplete(
  db: Db,
  s: {
    fleetId: string;
    tenantId: string;
    runId: string;
    worker: string;
    step: ProvisionStep;
    position: number;
    output: Record<string, unknown>;
    message: string;
    durationMs: number;
    gcpResources?: GcpResources;
  },
): Promise<boolean> {
  const gcp = s.gcpResources ? JSON.stringify(s.gcpResources) : null;
  const { rows } = await sql<{ owned: boolean }>`
    WITH o AS (
      SELECT 1 FROM provision_runs WHERE id = ${s.runId} AND worker = ${s.worker} AND status = 'running' FOR UPDATE
    ), c AS (
      INSERT INTO step_checkpoints (fleet_id, step, position, run_id, output)
      SELECT ${s.fleetId}, ${s.step}, ${s.position}, ${s.runId}, ${JSON.stringify(s.output)}::jsonb WHERE EXISTS (SELECT 1 FROM o)
      ON CONFLICT (fleet_id, step) DO NOTHING
    ), g AS (
      UPDATE fleets SET gcp_resources = ${gcp}::jsonb, updated_at = now()
      WHERE id = ${s.fleetId} AND ${gcp}::jsonb IS NOT NULL AND EXISTS (SELECT 1 FROM o)
    ), l AS (
      INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms)
      SELECT ${s.fleetId}, ${s.runId}, ${s.step}, 'complete', ${s.message}, ${s.durationMs} WHERE EXISTS (SELECT 1 FROM o)
      RETURNING created_at
    ), ev AS (
      INSERT INTO fleet_events (tenant_id, type, data)
      SELECT ${s.tenantId}, 'log', jsonb_build_object(
        'runId', ${s.runId}::text, 'step', ${s.step}::text, 'status', 'complete', 'message', ${s.message}::text,
        'durationMs', ${s.durationMs}::int,
        'createdAt', to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      FROM l RETURNING id
    )
    SELECT EXISTS (SELECT 1 FROM o) AS owned, (SELECT pg_notify(${EVENTS_CHANNEL}, ${s.tenantId} || ':' || id) FROM ev) AS notified`.execute(db);
  return rows[0]?.owned === true;
}
