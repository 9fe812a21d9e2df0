import { lockFleetOfTenant } from '../../db/fleets.ts';
import { activeRun } from '../../db/runs.ts';
import { canTransition, IllegalTransitionError } from '../../domain/fleet.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { assertRunRate, planOf } from './plan-limits.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to retry: provision one first.';

/** Resumes a fleet in `error` at its failed step (completed steps keep their checkpoints). */
export async function retryFleet(ctx: ServiceContext, caller: Caller): Promise<RunOutcome> {
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const fleet = await lockFleetOfTenant(trx, tenantId);
    if (!fleet) throw new ServiceError('not_found', NO_FLEET);
    const running = await activeRun(trx, fleet.id);
    if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
    if (!canTransition(fleet.status, 'retry')) {
      throw new ServiceError('illegal_transition', new IllegalTransitionError('retry', fleet.status).message);
    }
    await assertRunRate(trx, await planOf(ctx, trx, tenantId), fleet.id);
    return startRun(trx, ctx, { fleetId: fleet.id, tenantId, action: 'retry', actor: actorOf(caller) });
  });
  return announce(ctx, outcome);
}
