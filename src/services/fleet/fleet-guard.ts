import { lockFleetOfTenant, type FleetRow } from '../../db/fleets.ts';
import { activeRun, type RunRow } from '../../db/runs.ts';
import type { Db } from '../../db/connection.ts';
import { type FleetVerb, illegalVerbMessage, verbAllowed } from '../../domain/fleet.ts';
import { ServiceError } from '../errors.ts';

/**
 * The checks every verb makes on the locked fleet, in one place so every 409 reads alike: the
 * fleet exists, no run of another kind is at work (the 409 names it), and the status allows the
 * verb (the 409 names the status and what it allows).
 */
export async function lockedFleetFor(
  trx: Db,
  tenantId: string,
  verb: FleetVerb,
  opts: { noFleet: string; sameKindRun?: RunRow['kind'] },
): Promise<{ fleet: FleetRow; running?: RunRow }> {
  const fleet = await lockFleetOfTenant(trx, tenantId);
  if (!fleet) throw new ServiceError('not_found', opts.noFleet);
  const running = await activeRun(trx, fleet.id);
  if (running) {
    // Asking again for what is already under way answers with that run.
    if (running.kind === opts.sameKindRun) return { fleet, running };
    throw new ServiceError('illegal_transition', busyMessage(verb, fleet.status, running));
  }
  if (!verbAllowed(fleet.status, verb)) throw new ServiceError('illegal_transition', illegalVerbMessage(verb, fleet.status));
  return { fleet };
}

/** The 409 text while a run is at work: which run, and what may be done meanwhile. */
export function busyMessage(verb: FleetVerb, status: FleetRow['status'], run: RunRow): string {
  const meanwhile = run.kind === 'provision' ? 'wait for it to end, or cancel it' : 'wait for it to end';
  return `Cannot ${verb}: fleet is ${status === 'error' ? 'in error' : status} and its ${run.kind} run ${run.id} is ${run.status}; ${meanwhile}.`;
}
