import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { assertRunRate, planOf } from './plan-limits.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to resume: provision one first.';

/** Resumes a suspended fleet: machine started, gateway started and healthy, status `active`. */
export async function resumeFleet(ctx: ServiceContext, caller: Caller): Promise<RunOutcome> {
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const { fleet, running } = await lockedFleetFor(trx, tenantId, 'resume', { noFleet: NO_FLEET, sameKindRun: 'resume' });
    if (running) return { kind: 'already-running' as const, fleetId: fleet.id, tenantId, run: running };
    if ('principal' in caller) {
      if (fleet.suspended_by === 'platform') {
        throw new ServiceError(
          'forbidden',
          `This fleet was suspended by the platform${fleet.suspend_reason ? ` (${fleet.suspend_reason})` : ''}; only the platform can resume it. Contact support.`,
        );
      }
      await assertRunRate(trx, await planOf(ctx, trx, tenantId), fleet.id);
    }
    return startRun(trx, ctx, { fleet, tenantId, verb: 'resume', kind: 'resume', actor: actorOf(caller) });
  });
  return announce(ctx, outcome);
}
