import type { Db } from './connection.ts';
import type { OrphanMachineRecord } from './schema.ts';

/** Who owns machines: the slugs of tenants with a fleet (local machine names) and the fleets' ids (GCP labels). */
export async function machineOwners(db: Db): Promise<{ tenantSlugs: Set<string>; fleetIds: Set<string> }> {
  const rows = await db
    .selectFrom('fleets')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['fleets.id', 'tenants.slug'])
    .execute();
  return { tenantSlugs: new Set(rows.map((r) => r.slug)), fleetIds: new Set(rows.map((r) => r.id)) };
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
