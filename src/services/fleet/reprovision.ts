import { z } from 'zod';
import { getTenant } from '../../db/tenants.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { parseInput, ServiceError } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { lockedFleetFor } from './fleet-guard.ts';
import { assertRunRate, planOf } from './plan-limits.ts';
import { announce, type RunOutcome, startRun } from './start-run.ts';

const NO_FLEET = 'There is no fleet to reprovision: provision one first.';

/** The body of a reprovision: the fleet's tenantId typed out, because the machine is deleted. */
export const ReprovisionInput = z.object({ confirm: z.string().max(100).optional() }).strict();
export type ReprovisionInput = z.infer<typeof ReprovisionInput>;

/**
 * Tears the fleet's machine down and builds it again from the stored settings, as one run
 * (kind `reprovision`: a deprovision's teardown, proof included, then the provision steps): the
 * fleet, its settings, secrets, log and audit stay. From `active` or `error`; `confirm` must be
 * the fleet's tenantId (or its tnt_… id), else a 400 naming it.
 */
export async function reprovisionFleet(ctx: ServiceContext, caller: Caller, raw: unknown): Promise<RunOutcome> {
  const input = parseInput(ReprovisionInput, raw ?? {});
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const tenant = await getTenant(ctx.db, tenantId);
  if (input.confirm !== tenant.slug && input.confirm !== tenant.id) {
    throw new ServiceError(
      'invalid_input',
      `confirm: ${input.confirm === undefined ? 'is required' : 'does not match'}; reprovisioning deletes the fleet's machine, so ` +
        `send {"confirm": "${tenant.slug}"} (the fleet's tenantId) to go ahead.`,
      'confirm',
    );
  }
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const { fleet } = await lockedFleetFor(trx, tenantId, 'reprovision', { noFleet: NO_FLEET });
    await assertRunRate(trx, await planOf(ctx, trx, tenantId), fleet.id);
    return startRun(trx, ctx, {
      fleet,
      tenantId,
      verb: 'reprovision',
      kind: 'reprovision',
      transition: 'reprovision',
      actor: actorOf(caller),
    });
  });
  return announce(ctx, outcome);
}
