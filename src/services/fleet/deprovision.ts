import { audit } from '../../db/audit.ts';
import { lockFleetOfTenant } from '../../db/fleets.ts';
import { lastEndedRun } from '../../db/runs.ts';
import { deleteTenant } from '../../db/tenants.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to deprovision.';

/** What deprovisioning answers: its run, or (a tenant without a fleet, removed by the platform) nothing to run. */
export type DeprovisionOutcome = RunOutcome | { kind: 'tenant-removed'; tenantId: string };

/**
 * Deprovisions the fleet: gateway and machine stopped and deleted (GCP: the VM and its boot disk),
 * secrets destroyed, the fleet removed, with a proof of each absence in the log stream and the
 * audit log, which is kept. `removeTenant` (the platform's DELETE /api/tenants/{id}) removes the
 * tenant too. A deprovision after a failed one keeps its plan: it finishes the same job.
 */
export async function deprovisionFleet(
  ctx: ServiceContext,
  caller: Caller,
  opts: { removeTenant?: boolean } = {},
): Promise<DeprovisionOutcome> {
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const actor = actorOf(caller);
  const outcome = await ctx.db.transaction().execute(async (trx): Promise<DeprovisionOutcome> => {
    if (opts.removeTenant && !(await lockFleetOfTenant(trx, tenantId))) {
      // Its fleet went before (a tenant's own deprovision): only the tenant is left to remove.
      await audit(trx, { tenantId, actor, action: 'tenant.delete', detail: { fleet: null } });
      await deleteTenant(trx, tenantId);
      return { kind: 'tenant-removed', tenantId };
    }
    const { fleet, running } = await lockedFleetFor(trx, tenantId, 'deprovision', { noFleet: NO_FLEET, sameKindRun: 'deprovision' });
    if (running) return { kind: 'already-running', fleetId: fleet.id, tenantId, run: running };
    const previous = await lastEndedRun(trx, fleet.id);
    return startRun(trx, ctx, {
      fleet,
      tenantId,
      verb: 'deprovision',
      kind: 'deprovision',
      retry: previous?.kind === 'deprovision',
      actor,
      options: { removeTenant: opts.removeTenant === true },
    });
  });
  if (outcome.kind === 'tenant-removed') {
    ctx.changed?.(tenantId);
    return outcome;
  }
  return announce(ctx, outcome);
}
