import { lastEndedRun } from '../../db/runs.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { assertRunRate, planOf } from './plan-limits.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to retry: provision one first.';

/**
 * Retries the run that left the fleet in `error` (a provision, suspend, resume or deprovision, or
 * a cancelled provision), at its failed step: completed steps keep their checkpoints. A fleet the
 * reconciler moved to `error` is provisioned again from the step it found broken.
 */
export async function retryFleet(ctx: ServiceContext, caller: Caller): Promise<RunOutcome> {
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const { fleet, running } = await lockedFleetFor(trx, tenantId, 'retry', { noFleet: NO_FLEET, sameKindRun: 'provision' });
    if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
    await assertRunRate(trx, await planOf(ctx, trx, tenantId), fleet.id);
    // A fleet in `error` after a run that completed was failed from outside (the reconciler found its
    // machine or gateway broken and dropped the provision checkpoints of what is gone): retrying that
    // run's kind (a resume, say) could not rebuild it; a provision redoes exactly what was dropped.
    const last = await lastEndedRun(trx, fleet.id);
    const failed = last?.status === 'complete' ? undefined : last;
    // The retried run's options (a suspension's reason, a tenant's removal) hold for its retry too.
    const { actor: _first, ...options } = failed?.options ?? {};
    return startRun(trx, ctx, {
      fleet,
      tenantId,
      verb: 'retry',
      kind: failed?.kind ?? 'provision',
      retry: true,
      actor: actorOf(caller),
      options,
    });
  });
  return announce(ctx, outcome);
}
