import { sql } from 'kysely';
import type { Db } from './connection.ts';
import type { FleetHealthReport } from '../domain/fleet-health.ts';
import type { ComputeDriverName, FleetAgent } from '../domain/fleet.ts';
import type { StoredSettings } from '../domain/fleet-settings.ts';
import { dropCheckpointsFrom, dropKindCheckpoints } from './checkpoints.ts';
import { applyTransition } from './fleet-transition.ts';
import { appendLog } from './provision-log.ts';
import { activeRun } from './runs.ts';
import { RECONCILE_STEP } from '../domain/steps.ts';

/** The reconciler's reads and writes: which fleets it checks, what it saw, and a fleet it fails. */

export interface ReconcilableFleet {
  id: string;
  tenantId: string;
  driver: ComputeDriverName;
  /** vm_create's checkpoint: how to reach the machine. */
  machine: Record<string, unknown>;
  agents: FleetAgent[];
  settings: StoredSettings;
}

/**
 * Fleets meant to run and believed to: `active` with desired state `running` and a machine, and
 * no run at work. Never a fleet whose desired state is suspended or deleted ("stopped means stopped").
 */
export async function reconcilableFleets(db: Db): Promise<ReconcilableFleet[]> {
  const rows = await db
    .selectFrom('fleets')
    .innerJoin('step_checkpoints', (j) =>
      j
        .onRef('step_checkpoints.fleet_id', '=', 'fleets.id')
        .on('step_checkpoints.kind', '=', 'provision')
        .on('step_checkpoints.step', '=', 'vm_create'),
    )
    .select(['fleets.id', 'fleets.tenant_id', 'fleets.compute_driver', 'fleets.agents', 'fleets.settings', 'step_checkpoints.output'])
    .where('fleets.status', '=', 'active')
    .where('fleets.desired_state', '=', 'running')
    // A run at work owns the fleet's machine meanwhile (it may stop its gateway on purpose).
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('provision_runs')
            .select('provision_runs.id')
            .whereRef('provision_runs.fleet_id', '=', 'fleets.id')
            .where('provision_runs.status', 'in', ['queued', 'running']),
        ),
      ),
    )
    .orderBy('fleets.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenantId: r.tenant_id,
    driver: r.compute_driver,
    machine: r.output,
    agents: r.agents,
    settings: r.settings as StoredSettings,
  }));
}

/**
 * Stores one pass's observation of a fleet; `unhealthy` counts it among the failed checks in a
 * row (a healthy one resets the count). Resolves with that count, or null when the fleet is gone.
 */
export async function recordHealth(db: Db, fleetId: string, report: FleetHealthReport, unhealthy: boolean): Promise<number | null> {
  const { rows } = await sql<{ failed_checks: number }>`
    INSERT INTO fleet_health (fleet_id, report, failed_checks, checked_at)
    SELECT id, ${JSON.stringify(report)}::jsonb, ${unhealthy ? 1 : 0}, now() FROM fleets WHERE id = ${fleetId}
    ON CONFLICT (fleet_id) DO UPDATE SET
      report = EXCLUDED.report,
      failed_checks = CASE WHEN ${unhealthy} THEN fleet_health.failed_checks + 1 ELSE 0 END,
      checked_at = now()
    RETURNING failed_checks`.execute(db);
  return rows[0]?.failed_checks ?? null;
}

/** The fleet's last observation, if the reconciler has made one. */
export async function readFleetHealth(db: Db, fleetId: string): Promise<{ report: FleetHealthReport; checkedAt: Date } | undefined> {
  const row = await db.selectFrom('fleet_health').select(['report', 'checked_at']).where('fleet_id', '=', fleetId).executeTakeFirst();
  return row ? { report: row.report, checkedAt: row.checked_at } : undefined;
}

/** A line of the reconciler's in the fleet's log (and its event): what it found and did. */
export function logReconcile(
  db: Db,
  fleet: { id: string; tenantId: string },
  status: 'complete' | 'error',
  message: string,
): Promise<void> {
  return appendLog(db, {
    fleetId: fleet.id,
    tenantId: fleet.tenantId,
    runId: null,
    step: RECONCILE_STEP,
    status,
    message,
    durationMs: null,
  });
}

/**
 * Moves a fleet the reconciler found broken to `error`, with a log entry saying what it found and
 * what to do, in one transaction, only while it is still active, meant to run and without a run
 * at work (a suspension or deprovision recorded meanwhile wins). The checkpoints from `redoFrom`
 * (a provision step's position) are dropped, and a resume's, so a retry rebuilds what is broken
 * instead of replaying checkpoints of what no longer exists. False when it did nothing.
 */
export async function failBrokenFleet(
  db: Db,
  fleet: { id: string; tenantId: string },
  message: string,
  redoFrom: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('fleets')
      .select(['status', 'desired_state'])
      .where('id', '=', fleet.id)
      .forUpdate()
      .executeTakeFirst();
    if (row?.status !== 'active' || row.desired_state !== 'running' || (await activeRun(trx, fleet.id))) return false;
    await applyTransition(trx, fleet.id, 'fail');
    await logReconcile(trx, fleet, 'error', message);
    await dropCheckpointsFrom(trx, fleet.id, redoFrom);
    await dropKindCheckpoints(trx, fleet.id, 'resume');
    await trx.updateTable('fleet_health').set({ failed_checks: 0 }).where('fleet_id', '=', fleet.id).execute();
    return true;
  });
}

/** True while some fleet is changing (a run queued or at work): the reconciler then looks more often. */
export async function someRunAtWork(db: Db): Promise<boolean> {
  const row = await db.selectFrom('provision_runs').select('id').where('status', 'in', ['queued', 'running']).limit(1).executeTakeFirst();
  return row !== undefined;
}
