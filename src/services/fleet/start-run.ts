import { audit } from '../../db/audit.ts';
import type { Db } from '../../db/connection.ts';
import { applyTransition } from '../../db/fleet-transition.ts';
import { insertRun, type RunRow } from '../../db/runs.ts';
import type { FleetAction } from '../../domain/fleet.ts';
import type { ServiceContext } from '../context.ts';

export type RunOutcome = { kind: 'started' | 'already-running'; fleetId: string; tenantId: string; run: RunRow };

/**
 * Moves the fleet and creates its run and the run's job in the caller's transaction, so
 * "provisioning" and "a job exists" never disagree; audited with `detail`.
 */
export async function startRun(
  trx: Db,
  ctx: ServiceContext,
  s: { fleetId: string; tenantId: string; action: FleetAction & ('provision' | 'retry'); actor: string; detail?: Record<string, unknown> },
): Promise<RunOutcome> {
  await applyTransition(trx, s.fleetId, s.action);
  // Fair scheduling counts a user's runs across all their tenants; the platform's per tenant.
  const requestedBy = s.actor === 'platform' ? `tenant:${s.tenantId}` : s.actor;
  const run = await insertRun(trx, s.fleetId, s.action, requestedBy);
  await ctx.queue.enqueue(trx, run.id);
  await audit(trx, { tenantId: s.tenantId, actor: s.actor, action: `fleet.${s.action}`, detail: { runId: run.id, ...s.detail } });
  return { kind: 'started', fleetId: s.fleetId, tenantId: s.tenantId, run };
}

/** After commit: this replica's cache forgets the old fleet, and a local worker may take the run now. */
export function announce(ctx: ServiceContext, outcome: RunOutcome): RunOutcome {
  ctx.changed?.(outcome.tenantId);
  if (outcome.kind === 'started') ctx.offer?.(outcome.run.id);
  return outcome;
}
