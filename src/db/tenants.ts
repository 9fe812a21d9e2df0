import { type Selectable, sql } from 'kysely';
import type { FleetStatus } from '../domain/fleet.ts';
import { newId } from '../domain/ids.ts';
import type { Template } from '../domain/template.ts';
import { audit } from './audit.ts';
import { qualified, TENANT_COLUMNS } from './columns.ts';
import type { Db } from './connection.ts';
import { announceTenant, recordEvent } from './events.ts';
import { insertFleet } from './fleets.ts';
import type { TenantsTable } from './schema.ts';

export type TenantRow = Selectable<TenantsTable>;
export interface TenantWithFleet extends TenantRow {
  fleet_id: string | null;
  fleet_status: FleetStatus | null;
  template_id: string | null;
}

export interface NewTenant {
  slug: string;
  name: string;
  plan: string;
  clerkOrgId: string | null;
  clerkUserId: string | null;
}

/**
 * THE way a tenant comes to exist: the tenant, its `pending` fleet (the template's agents and
 * repos), the fleet's first event and the audit entry, inside the caller's transaction. A unique
 * index (slug, Clerk org or user) refuses a duplicate with 23505; callers decide what that means.
 */
export async function insertTenantWithFleet(
  trx: Db,
  t: NewTenant,
  template: Template,
  audited: { actor: string; detail: Record<string, unknown> },
): Promise<TenantRow> {
  const row = await trx
    .insertInto('tenants')
    .values({
      id: newId('tnt'),
      slug: t.slug,
      name: t.name,
      plan: t.plan,
      kind: t.clerkOrgId ? 'org' : 'personal',
      clerk_org_id: t.clerkOrgId,
      clerk_user_id: t.clerkUserId,
    })
    .returning(TENANT_COLUMNS)
    .executeTakeFirstOrThrow();
  await insertFleet(trx, row.id, template);
  const owner = t.clerkOrgId ? { clerkOrgId: t.clerkOrgId } : t.clerkUserId ? { clerkUserId: t.clerkUserId } : undefined;
  if (owner) await announceTenant(trx, row.id, owner);
  await audit(trx, { tenantId: row.id, actor: audited.actor, action: 'tenant.create', detail: { slug: t.slug, ...audited.detail } });
  return row;
}

/** True when `e` is PostgreSQL's unique violation: a concurrent request won a race on a unique index. */
export const isUniqueViolation = (e: unknown): boolean => (e as { code?: string }).code === '23505';

export async function getTenant(db: Db, tenantId: string): Promise<TenantRow> {
  return db.selectFrom('tenants').select(TENANT_COLUMNS).where('id', '=', tenantId).executeTakeFirstOrThrow();
}

/** The tenant a fleet belongs to (read beside the fleet itself, not after it). */
export async function getTenantOfFleet(db: Db, fleetId: string): Promise<TenantRow> {
  return db
    .selectFrom('tenants')
    .select(qualified('tenants', TENANT_COLUMNS))
    .where('id', '=', (eb) => eb.selectFrom('fleets').select('tenant_id').where('fleets.id', '=', fleetId))
    .executeTakeFirstOrThrow();
}

export async function slugTaken(db: Db, slug: string): Promise<boolean> {
  return (await db.selectFrom('tenants').select('id').where('slug', '=', slug).executeTakeFirst()) !== undefined;
}

/** The tenants holding `slug` or the Clerk owner, in one read (a race twin must be seen as "the same again"). */
export async function findTenantsBySlugOrOwner(
  db: Db,
  slug: string,
  owner: { clerkOrgId: string } | { clerkUserId: string },
): Promise<TenantRow[]> {
  return db
    .selectFrom('tenants')
    .select(TENANT_COLUMNS)
    .where((eb) =>
      eb.or([
        eb('slug', '=', slug),
        'clerkOrgId' in owner ? eb('clerk_org_id', '=', owner.clerkOrgId) : eb('clerk_user_id', '=', owner.clerkUserId),
      ]),
    )
    .execute();
}

export async function templateOfTenantFleet(db: Db, tenantId: string): Promise<string | null> {
  const fleet = await db.selectFrom('fleets').select('template_id').where('tenant_id', '=', tenantId).executeTakeFirst();
  return fleet?.template_id ?? null;
}

export async function findTenantBySlugOrId(db: Db, key: string): Promise<TenantWithFleet | undefined> {
  return baseQuery(db)
    .where((eb) => (key.startsWith('tnt_') ? eb('t.id', '=', key) : eb('t.slug', '=', key)))
    .executeTakeFirst();
}

export async function findTenantForClerk(db: Db, who: { clerkOrgId: string } | { clerkUserId: string }): Promise<TenantRow | undefined> {
  return db
    .selectFrom('tenants')
    .select(TENANT_COLUMNS)
    .where((eb) => ('clerkOrgId' in who ? eb('clerk_org_id', '=', who.clerkOrgId) : eb('clerk_user_id', '=', who.clerkUserId)))
    .executeTakeFirst();
}

export interface TenantFilter {
  status?: FleetStatus;
  plan?: string;
  clerkOrgId?: string;
  /** The template of the tenant's fleet. */
  templateId?: string;
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
  if (f.templateId) q = q.where('f.template_id', '=', f.templateId);
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
    .select(qualified('t', TENANT_COLUMNS))
    .select(['f.id as fleet_id', 'f.status as fleet_status', 'f.template_id']);
}

export async function countFleetsByStatus(db: Db): Promise<Record<string, number>> {
  const { rows } = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM fleets GROUP BY status`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Deletes a tenant (its fleet, if any, with it; its audit entries are kept), with its event. */
export async function deleteTenant(trx: Db, tenantId: string): Promise<void> {
  await trx.deleteFrom('tenants').where('id', '=', tenantId).execute();
  await recordEvent(trx, tenantId, 'status', { status: null, removed: true, tenantRemoved: true });
}
