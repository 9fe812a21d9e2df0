import { z } from 'zod';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { parseInput } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { assertRunRate, planOf } from './plan-limits.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const reason = z.string().trim().min(1).max(200);
/** A tenant may say why; the platform must (billing, abuse, admin…), it is shown in the log. */
export const TenantSuspendInput = z.object({ reason: reason.optional() }).strict();
export const PlatformSuspendInput = z.object({ reason }).strict();

const NO_FLEET = 'There is no fleet to suspend: provision one first.';

/**
 * Suspends an active fleet: its gateway and machine are stopped (GCP: instances.stop), every file
 * and setting kept; status `suspended` when the run ends. A platform suspension can be lifted by
 * the platform only.
 */
export async function suspendFleet(ctx: ServiceContext, caller: Caller, raw: unknown = {}): Promise<RunOutcome> {
  const input = parseInput('principal' in caller ? TenantSuspendInput : PlatformSuspendInput, raw ?? {});
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const actor = actorOf(caller);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const { fleet, running } = await lockedFleetFor(trx, tenantId, 'suspend', { noFleet: NO_FLEET, sameKindRun: 'suspend' });
    if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
    // A billing or abuse suspension is never refused for the tenant's run budget.
    if ('principal' in caller) await assertRunRate(trx, await planOf(ctx, trx, tenantId), fleet.id);
    return startRun(trx, ctx, {
      fleet,
      tenantId,
      verb: 'suspend',
      kind: 'suspend',
      actor,
      suspension: { by: actor, reason: input.reason ?? null },
    });
  });
  return announce(ctx, outcome);
}
