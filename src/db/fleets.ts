import type { Selectable } from 'kysely';
import type { ComputeDriverName, FleetAgent } from '../domain/fleet.ts';
import type { StoredSettings } from '../domain/fleet-settings.ts';
import type { Db } from './connection.ts';
import type { FleetsTable } from './schema.ts';

/** Fleet rows. Status changes go through fleet-transition.ts, never through an update here. */
export type FleetRow = Selectable<FleetsTable>;

export async function getFleet(db: Db, fleetId: string): Promise<FleetRow> {
  return db.selectFrom('fleets').selectAll().where('id', '=', fleetId).executeTakeFirstOrThrow();
}

/**
 * The tenant's fleet, locked until the caller's transaction ends: concurrent requests for one
 * fleet queue here, so the second sees what the first did (its run, its settings).
 */
export async function lockFleetOfTenant(trx: Db, tenantId: string): Promise<FleetRow | undefined> {
  return trx.selectFrom('fleets').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
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

/** Active fleets with the output of their vm_create step: the machines whose gateways must run. */
export async function activeFleetMachines(
  db: Db,
): Promise<Array<{ id: string; driver: ComputeDriverName; machine: Record<string, unknown> }>> {
  const rows = await db
    .selectFrom('fleets')
    .innerJoin('step_checkpoints', (j) =>
      j.onRef('step_checkpoints.fleet_id', '=', 'fleets.id').on('step_checkpoints.step', '=', 'vm_create'),
    )
    .select(['fleets.id', 'fleets.compute_driver', 'step_checkpoints.output'])
    .where('fleets.status', '=', 'active')
    .execute();
  return rows.map((r) => ({ id: r.id, driver: r.compute_driver, machine: r.output }));
}

/** Pins the SSH host key seen at first contact with the fleet's machine, at once (not with a step). */
export async function pinSshHostKey(db: Db, fleetId: string, fingerprint: string): Promise<void> {
  await db.updateTable('fleets').set({ ssh_host_key: fingerprint }).where('id', '=', fleetId).where('ssh_host_key', 'is', null).execute();
}

/** The tenant's fleet, read without a lock. */
export async function findFleetOfTenant(db: Db, tenantId: string): Promise<FleetRow | undefined> {
  return db.selectFrom('fleets').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}
