import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { eventCtes, notifyOfEvent } from './events.ts';
import { cleanOutsideText } from './outside-text.ts';
import { type DesiredState, type FleetAction, type FleetStatus, transition } from '../domain/fleet.ts';

/**
 * Moves a fleet through the domain state machine inside the caller's transaction: locks the row,
 * checks the transition (IllegalTransitionError otherwise), writes it and its event.
 */
export async function applyTransition(
  trx: Db,
  fleetId: string,
  action: FleetAction,
  extra: {
    dashboardUrl?: string | null;
    /** The caller's transaction holds the fleet's row lock and read these under it: no second read. */
    locked?: { status: FleetStatus; tenantId: string };
    /** The desired state the action records with it (start-run.ts): the same update, not a second. */
    desiredState?: DesiredState;
  } = {},
): Promise<{ from: FleetStatus; to: FleetStatus; tenantId: string }> {
  const row = extra.locked
    ? { status: extra.locked.status, tenant_id: extra.locked.tenantId }
    : await trx.selectFrom('fleets').select(['status', 'tenant_id']).where('id', '=', fleetId).forUpdate().executeTakeFirstOrThrow();
  const to = transition(row.status, action);
  const update = trx
    .updateTable('fleets')
    .set({
      status: to,
      updated_at: sql`now()`,
      // Running again: whoever suspended it no longer holds it.
      ...(to === 'active' ? { suspended_by: null, suspend_reason: null } : {}),
      ...(extra.desiredState ? { desired_state: extra.desiredState } : {}),
      // A machine's address comes from its driver (a cloud's answer): cleaned like any outside text.
      ...(extra.dashboardUrl !== undefined
        ? { dashboard_url: extra.dashboardUrl === null ? null : cleanOutsideText(extra.dashboardUrl, 2000) }
        : {}),
    })
    .where('id', '=', fleetId);
  // The change and its event in one statement (one round trip).
  await sql`
    WITH u AS (${update}), ${eventCtes(row.tenant_id, 'status', { status: to, from: row.status, action })}
    SELECT ${notifyOfEvent(row.tenant_id)} FROM e`.execute(trx);
  return { from: row.status, to, tenantId: row.tenant_id };
}
