import type { Db } from './connection.ts';
import type { OrphanMachineRecord } from './schema.ts';
import { pooledVmNames } from './warm-gateways.ts';

/**
 * Who owns machines: the slugs of tenants with a fleet (local machine names), the fleets' ids
 * (GCP labels) and the warm pool's VMs (read after the fleets: a VM claimed in between has a row).
 */
export async function machineOwners(db: Db): Promise<{ tenantSlugs: Set<string>; fleetIds: Set<string>; pooledVms: Set<string> }> {
  const rows = await db
    .selectFrom('fleets')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['fleets.id', 'tenants.slug'])
    .execute();
  const pooledVms = await pooledVmNames(db);
  return { tenantSlugs: new Set(rows.map((r) => r.slug)), fleetIds: new Set(rows.map((r) => r.id)), pooledVms };
}

/** The orphans the last pass found (none before any pass). */
export async function storedOrphans(db: Db): Promise<OrphanMachineRecord[]> {
  const row = await db.selectFrom('orphan_machines').select('machines').executeTakeFirst();
  return row?.machines ?? [];
}

/** The orphans the last pass found (replacing the previous list). */
export async function storeOrphans(db: Db, machines: OrphanMachineRecord[]): Promise<void> {
  await db
    .insertInto('orphan_machines')
    .values({ machines: JSON.stringify(machines) })
    .onConflict((oc) => oc.column('one').doUpdateSet({ machines: JSON.stringify(machines), checked_at: new Date() }))
    .execute();
}

/** How many orphans the last pass found (0 before any pass): read at /metrics scrape time. */
export async function countOrphans(db: Db): Promise<number> {
  return (await storedOrphans(db)).length;
}
