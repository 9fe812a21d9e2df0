import { audit } from '../db/audit.ts';
import type { Db } from '../db/connection.ts';
import { adoptRebuiltCheckpoints } from '../db/checkpoints.ts';
import { applyTransition } from '../db/fleet-transition.ts';
import { type FleetRow, type LockedFleet, removeFleet } from '../db/fleets.ts';
import type { RunRow } from '../db/runs.ts';
import type { TenantRow } from '../db/tenants.ts';
import { RUN_KINDS } from '../domain/run-kinds.ts';
import { PROVISION_STEPS, REPROVISION_TEARDOWN_STEPS } from '../domain/steps.ts';
import type { StepResult } from './step.ts';

/** What ending a run needs to know. */
export interface RunEnding {
  run: RunRow;
  fleet: FleetRow;
  tenant: TenantRow;
  /** The last step's result; undefined when every step was checkpointed already. */
  result: StepResult | undefined;
  /** The fleet's row as the transaction's lock read it. */
  locked?: LockedFleet;
}

/**
 * Ends the fleet the way the run's kind declares (domain/run-kinds.ts), inside the commit that
 * records the last step and finishes the run: a transition of the state machine, or, for a
 * deprovision, the fleet's removal with its proof in the audit log, which outlives it.
 */
export async function endRun(trx: Db, e: RunEnding): Promise<void> {
  const end = RUN_KINDS[e.run.kind].endsWith;
  if (end === 'removed') {
    const tenantToo = e.run.options.removeTenant === true;
    await audit(trx, {
      tenantId: e.tenant.id,
      actor: e.run.options.actor ?? 'platform',
      action: 'fleet.deprovisioned',
      detail: { runId: e.run.id, fleetId: e.fleet.id, tenantRemoved: tenantToo, proof: e.result?.output.proof ?? null },
    });
    await removeFleet(trx, e.fleet.id, e.tenant.id, { tenantToo });
    return;
  }
  if (e.run.kind === 'reprovision') {
    await adoptRebuiltCheckpoints(trx, e.fleet.id, PROVISION_STEPS, REPROVISION_TEARDOWN_STEPS.length);
  }
  const dashboardUrl = e.result?.fleetUpdate?.dashboardUrl;
  await applyTransition(trx, e.fleet.id, end, {
    ...(end === 'succeed' && dashboardUrl !== undefined ? { dashboardUrl } : {}),
    ...(e.locked ? { locked: e.locked } : {}),
  });
}
