import { sql } from 'kysely';
import type { Db } from './connection.ts';
import type { TenantsTable } from './schema.ts';
import type { Selectable } from 'kysely';
import type { FleetStatus } from '../domain/fleet.ts';

export type TenantRow = Selectable<TenantsTable>;
export interface TenantWithFleet extends TenantRow {
  fleet_id: string | null;
  fleet_status: FleetStatus | null;
  template_id: string | null;
}

/** Tenant reads; writes that must go with a fleet live in tenant-create.ts. */

export async function findTenantBySlugOrId(db: Db, key: string): Promise<TenantWithFleet | undefined> {
  return baseQuery(db)
    .where((eb) => (key.startsWith('tnt_') ? eb('t.id', '=', key) : eb('t.slug', '=', key)))
    .executeTakeFirst();
}

export async function findTenantForClerk(db: Db, who: { clerkOrgId: string } | { clerkUserId: string }): Promise<TenantRow | undefined> {
  return db
    .selectFrom('tenants')
    .selectAll()
    .where((eb) => ('clerkOrgId' in who ? eb('clerk_org_id', '=', who.clerkOrgId) : eb('clerk_user_id', '=', who.clerkUserId)))
    .executeTakeFirst();
}

export interface TenantFilter {
  status?: FleetStatus;
  plan?: string;
  clerkOrgId?: string;
  /** Only tenants created after the one with this `seq` (exclusive). */
  afterSeq?: number;
  limit: number;
}

/** A page of tenants in creation order; fetches one extra row to know whether more follow. */
export async function listTenants(db: Db, f: TenantFilter): Promise<{ rows: TenantWithFleet[]; more: boolean }> {
  let q = baseQuery(db);
  if (f.status) q = q.where('f.status', '=', f.status);
  if (f.plan) q = q.where('t.plan', '=', f.plan);
  if (f.clerkOrgId) q = q.where('t.clerk_org_id', '=', f.clerkOrgId);
  if (f.afterSeq !== undefined) q = q.where('t.seq', '>', f.afterSeq);
  const rows = await q
    .orderBy('t.seq')
    .limit(f.limit + 1)
    .execute();
  return { rows: rows.slice(0, f.limit), more: rows.length > f.limit };
}

function baseQuery(db: Db) {
  return db
    .selectFrom('tenants as t')
    .leftJoin('fleets as f', 'f.tenant_id', 't.id')
    .selectAll('t')
    .select(['f.id as fleet_id', 'f.status as fleet_status', 'f.template_id']);
}

export async function countFleetsByStatus(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM fleets GROUP BY status`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
