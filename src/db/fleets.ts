import { type Selectable, sql } from 'kysely';
import { type ComputeDriverName, type DesiredState, type FleetAgent, fleetAgentsOf } from '../domain/fleet.ts';
import type { StoredSettings } from '../domain/fleet-settings.ts';
import { newId } from '../domain/ids.ts';
import type { Template } from '../domain/template.ts';
import { FLEET_COLUMNS } from './columns.ts';
import type { Db } from './connection.ts';
import { recordEvent } from './events.ts';
import { cleanOutsideText } from './outside-text.ts';
import type { FleetsTable } from './schema.ts';

/** Fleet rows. Status changes go through fleet-transition.ts, never through an update here. */
export type FleetRow = Selectable<FleetsTable>;

export async function getFleet(db: Db, fleetId: string): Promise<FleetRow> {
  return db.selectFrom('fleets').select(FLEET_COLUMNS).where('id', '=', fleetId).executeTakeFirstOrThrow();
}

/**
 * Locks one fleet's row until the caller's transaction ends. Writers that touch a fleet and one of
 * its runs lock the fleet first (the verbs do, through lockFleetOfTenant), so they never deadlock.
 */
export async function lockFleetRow(trx: Db, fleetId: string): Promise<LockedFleet | undefined> {
  const row = await trx.selectFrom('fleets').select(['status', 'tenant_id']).where('id', '=', fleetId).forUpdate().executeTakeFirst();
  return row && { status: row.status, tenantId: row.tenant_id };
}

/** What the lock's read saw, current until the transaction ends (nobody else can change it). */
export interface LockedFleet {
  status: FleetRow['status'];
  tenantId: string;
}

/**
 * The tenant's fleet, locked until the caller's transaction ends: concurrent requests for one
 * fleet queue here, so the second sees what the first did (its run, its settings).
 */
export async function lockFleetOfTenant(trx: Db, tenantId: string): Promise<FleetRow | undefined> {
  return trx.selectFrom('fleets').select(FLEET_COLUMNS).where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
}

/**
 * What a provision request decides about a fleet: its template's agents, its repos, its settings,
 * and, on the first provision only, the compute driver it keeps for life.
 */
export async function updateFleetRequest(
  trx: Db,
  fleetId: string,
  r: { templateId: string; agents: FleetAgent[]; repos: string[]; settings: StoredSettings; computeDriver?: ComputeDriverName },
): Promise<void> {
  await trx
    .updateTable('fleets')
    .set({
      template_id: r.templateId,
      agents: JSON.stringify(r.agents),
      repos: JSON.stringify(r.repos),
      settings: JSON.stringify(r.settings),
      ...(r.computeDriver ? { compute_driver: r.computeDriver } : {}),
    })
    .where('id', '=', fleetId)
    .execute();
}

/** Pins the SSH host key seen at first contact with the fleet's machine, at once (not with a step). */
export async function pinSshHostKey(db: Db, fleetId: string, fingerprint: string): Promise<void> {
  await db.updateTable('fleets').set({ ssh_host_key: fingerprint }).where('id', '=', fleetId).where('ssh_host_key', 'is', null).execute();
}

/** Forgets the pinned host key of a machine that was deleted: the next machine has its own. */
export async function unpinSshHostKey(db: Db, fleetId: string): Promise<void> {
  await db.updateTable('fleets').set({ ssh_host_key: null }).where('id', '=', fleetId).execute();
}

/**
 * A new `pending` fleet for a tenant that has none (its last one was deprovisioned), made from
 * `template`, with its event, in the caller's transaction: a provision after a deprovision starts clean.
 */
export async function insertFleet(trx: Db, tenantId: string, template: Template): Promise<void> {
  await trx
    .insertInto('fleets')
    .values({
      id: newId('flt'),
      tenant_id: tenantId,
      status: 'pending',
      template_id: template.id,
      dashboard_url: null,
      agents: JSON.stringify(fleetAgentsOf(template)),
      repos: JSON.stringify(template.repos),
      machine: null,
    })
    .execute();
  await recordEvent(trx, tenantId, 'status', { status: 'pending' });
}

/**
 * Records what an action asks the fleet to become (its desired state, and for a suspension who
 * asked and why) with its event, in the action's transaction. The status itself moves when the
 * run the action started ends.
 */
export async function recordIntent(
  trx: Db,
  fleet: { id: string; tenantId: string; status: string },
  intent: {
    desired: DesiredState;
    action: string;
    runId: string;
    suspendedBy?: string | null;
    reason?: string | null;
    /** False when the action's status transition already wrote its event in this transaction. */
    event?: boolean;
  },
): Promise<void> {
  await trx
    .updateTable('fleets')
    .set({
      desired_state: intent.desired,
      updated_at: sql`now()`,
      ...(intent.suspendedBy !== undefined ? { suspended_by: intent.suspendedBy } : {}),
      ...(intent.reason !== undefined ? { suspend_reason: intent.reason === null ? null : cleanOutsideText(intent.reason, 500) } : {}),
    })
    .where('id', '=', fleet.id)
    .execute();
  if (intent.event === false) return;
  await recordEvent(trx, fleet.tenantId, 'status', {
    status: fleet.status,
    desiredState: intent.desired,
    action: intent.action,
    runId: intent.runId,
  });
}

/**
 * Deletes the fleet (its runs, log, checkpoints, secrets and port go with it), and the tenant too
 * when asked, with the event that tells every reader the fleet is gone. The audit log is kept.
 */
export async function removeFleet(trx: Db, fleetId: string, tenantId: string, opts: { tenantToo: boolean }): Promise<void> {
  await trx.deleteFrom('fleets').where('id', '=', fleetId).execute();
  if (opts.tenantToo) await trx.deleteFrom('tenants').where('id', '=', tenantId).execute();
  await recordEvent(trx, tenantId, 'status', { status: null, removed: true, tenantRemoved: opts.tenantToo });
}

/** The tenant's fleet, read without a lock. */
export async function findFleetOfTenant(db: Db, tenantId: string): Promise<FleetRow | undefined> {
  return db.selectFrom('fleets').select(FLEET_COLUMNS).where('tenant_id', '=', tenantId).executeTakeFirst();
}
