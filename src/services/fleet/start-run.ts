import { audit } from '../../db/audit.ts';
import { dropKindCheckpoints } from '../../db/checkpoints.ts';
import type { Db } from '../../db/connection.ts';
import { applyTransition } from '../../db/fleet-transition.ts';
import { type FleetRow, recordIntent } from '../../db/fleets.ts';
import { insertRun, type RunRow } from '../../db/runs.ts';
import type { RunOptions } from '../../db/schema.ts';
import type { DesiredState, FleetAction, FleetStatus, FleetVerb } from '../../domain/fleet.ts';
import { buildsFleet, type RunKind } from '../../domain/run-kinds.ts';
import type { ServiceContext } from '../context.ts';

export type RunOutcome = { kind: 'started' | 'already-running'; fleetId: string; tenantId: string; run: RunRow };

/** The desired state each kind of run works towards. */
const DESIRED_BY_KIND: Record<RunKind, DesiredState> = {
  provision: 'running',
  suspend: 'suspended',
  resume: 'running',
  deprovision: 'deleted',
  reprovision: 'running',
};

/**
 * Records an action's intent and starts its run, in the caller's transaction: the fleet's desired
 * state (and status, for a provision), the run and its job, the event and the audit entry commit
 * together, so "suspending" and "a job exists" never disagree. A new suspend, resume or
 * deprovision starts from its kind's first step; a retry keeps the kind's checkpoints.
 */
export async function startRun(
  trx: Db,
  ctx: ServiceContext,
  s: {
    /** Read under the fleet's row lock, which the caller's transaction holds. */
    fleet: Pick<FleetRow, 'id' | 'status' | 'compute_driver' | 'machine_host'>;
    tenantId: string;
    verb: FleetVerb;
    kind: RunKind;
    retry?: boolean;
    /** The status change a provision run starts with, when not `provision` or `retry` (a reconfigure). */
    transition?: FleetAction;
    actor: string;
    detail?: Record<string, unknown>;
    options?: RunOptions;
    /** For a suspension: who holds it (only the platform lifts the platform's) and why. */
    suspension?: { by: string; reason: string | null };
  },
): Promise<RunOutcome> {
  let status: FleetStatus = s.fleet.status;
  const desired = DESIRED_BY_KIND[s.kind];
  // A run that builds the fleet changes its status: the desired state rides on that update (and
  // its event), so recordIntent below has nothing left to write unless a suspension is recorded.
  const transitioned = buildsFleet(s.kind);
  if (transitioned)
    status = (
      await applyTransition(trx, s.fleet.id, s.transition ?? (s.retry ? 'retry' : 'provision'), {
        locked: { status: s.fleet.status, tenantId: s.tenantId },
        desiredState: desired,
      })
    ).to;
  if (s.kind !== 'provision' && !s.retry) await dropKindCheckpoints(trx, s.fleet.id, s.kind);
  // Fair scheduling counts a user's runs across all their tenants; the platform's (and the webhook's) per tenant.
  const requestedBy = s.actor.startsWith('user:') ? s.actor : `tenant:${s.tenantId}`;
  const run = await insertRun(trx, s.fleet.id, s.kind, {
    retry: s.retry ?? false,
    requestedBy,
    options: { ...s.options, actor: s.actor, ...(s.suspension?.reason ? { reason: s.suspension.reason } : {}) },
  });
  if (!transitioned || s.suspension) {
    await recordIntent(
      trx,
      { id: s.fleet.id, tenantId: s.tenantId, status },
      {
        desired,
        action: s.verb,
        runId: run.id,
        event: !transitioned,
        ...(s.suspension ? { suspendedBy: s.suspension.by, reason: s.suspension.reason } : {}),
      },
    );
  }
  // A local machine's runs go to its host's queue; the row read under the lock says which.
  await ctx.queue.enqueue(trx, run.id, { host: s.fleet.compute_driver === 'local' ? s.fleet.machine_host : null });
  await audit(trx, {
    tenantId: s.tenantId,
    actor: s.actor,
    action: `fleet.${s.verb}`,
    detail: { runId: run.id, ...(s.suspension?.reason ? { reason: s.suspension.reason } : {}), ...s.detail },
  });
  return { kind: 'started', fleetId: s.fleet.id, tenantId: s.tenantId, run };
}

/** After commit: this replica's cache forgets the old fleet, and a local worker may take the run now. */
export function announce<T extends { tenantId: string; kind: string; run: RunRow }>(ctx: ServiceContext, outcome: T): T {
  ctx.changed?.(outcome.tenantId);
  if (outcome.kind === 'started') ctx.offer?.(outcome.run.id);
  return outcome;
}
