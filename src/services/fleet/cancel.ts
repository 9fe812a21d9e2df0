import { audit } from '../../db/audit.ts';
import { listCheckpoints } from '../../db/checkpoints.ts';
import { recordEvent } from '../../db/events.ts';
import { applyTransition } from '../../db/fleet-transition.ts';
import { lockFleetOfTenant } from '../../db/fleets.ts';
import { appendLog } from '../../db/provision-log.ts';
import { activeRun, cancelQueuedRun, type RunRow, requestCancel } from '../../db/runs.ts';
import { illegalVerbMessage } from '../../domain/fleet.ts';
import { buildsFleet, RUN_KINDS } from '../../domain/run-kinds.ts';
import { actorOf, type Caller, type ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { assertMayChangeFleet, existingTenantOf } from './access.ts';
import { busyMessage } from './fleet-guard.ts';

const NO_FLEET = 'There is no fleet whose provisioning could be cancelled.';

/**
 * How a cancel went: a queued run is cancelled at once (no worker had it); a running one is asked
 * to stop, and its worker ends it at its next safe point, aborting the running step.
 */
export type CancelOutcome = { tenantId: string; run: RunRow; stopped: 'at-once' | 'at-next-safe-point' };

/**
 * Cancels the fleet's queued or running provision (or reprovision: both show the fleet as
 * `provisioning`, and the dashboard's Cancel means either): the fleet ends in `error` with
 * "cancelled by …" in its log, and a retry resumes that run's kind at the step it stopped in.
 */
export async function cancelProvisioning(ctx: ServiceContext, caller: Caller): Promise<CancelOutcome> {
  if ('principal' in caller) assertMayChangeFleet(caller.principal);
  const tenantId = await existingTenantOf(ctx.db, caller, NO_FLEET);
  const actor = actorOf(caller);
  const outcome = await ctx.db.transaction().execute(async (trx): Promise<CancelOutcome> => {
    const fleet = await lockFleetOfTenant(trx, tenantId);
    if (!fleet) throw new ServiceError('not_found', NO_FLEET);
    const run = await activeRun(trx, fleet.id);
    if (run && !buildsFleet(run.kind)) throw new ServiceError('illegal_transition', busyMessage('cancel', fleet.status, run));
    if (!run) throw new ServiceError('illegal_transition', illegalVerbMessage('cancel', fleet.status));
    await audit(trx, { tenantId, actor, action: 'fleet.cancel', detail: { runId: run.id } });
    const message = `Cancelled by ${actor} before it started. Nothing ran; retry the fleet to start it again, or deprovision it.`;
    if (run.status === 'queued' && (await cancelQueuedRun(trx, run.id, message))) {
      const done = await listCheckpoints(trx, fleet.id, [run.kind]);
      const steps = RUN_KINDS[run.kind].steps;
      const step = steps.find((s) => !done.some((c) => c.step === s)) ?? steps[0];
      await appendLog(trx, { fleetId: fleet.id, tenantId, runId: run.id, step, status: 'error', message, durationMs: null });
      await applyTransition(trx, fleet.id, 'fail');
      return { tenantId, run, stopped: 'at-once' };
    }
    // A worker has it: it reads the request with its next heartbeat and stops there.
    await requestCancel(trx, run.id, actor);
    await recordEvent(trx, tenantId, 'status', { status: fleet.status, action: 'cancel', runId: run.id });
    return { tenantId, run, stopped: 'at-next-safe-point' };
  });
  ctx.changed?.(tenantId);
  return outcome;
}
