import type { Db } from './connection.ts';
import { audit } from './audit.ts';
import { recordEvent } from './events.ts';
import type { TenantRow } from './tenants.ts';
import { newId } from '../domain/ids.ts';
import type { Template } from '../domain/template.ts';

export interface NewTenant {
  slug: string;
  name: string;
  plan: string;
  clerkOrgId: string | null;
  clerkUserId: string | null;
  template: Template;
  actor: string;
}

export type CreateTenantResult =
  | { kind: 'created'; tenant: TenantRow }
  | { kind: 'existing'; tenant: TenantRow }
  | { kind: 'conflict'; message: string; field: string };

/**
 * Creates a tenant and its `pending` fleet (the template's agents and repos) in one transaction.
 * Idempotent on the slug: the same request again finds the same tenant; a different one is a
 * conflict naming the differing field. The unique indexes decide races, not a prior read.
 */
export async function createTenantWithFleet(db: Db, t: NewTenant): Promise<CreateTenantResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    // One read for both keys: a request that raced a twin must see the twin's tenant as "the same
    // tenant again", not as another tenant owning its Clerk id.
    const rows = await db
      .selectFrom('tenants')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('slug', '=', t.slug),
          t.clerkOrgId ? eb('clerk_org_id', '=', t.clerkOrgId) : eb('clerk_user_id', '=', t.clerkUserId ?? ''),
        ]),
      )
      .execute();
    const existing = rows.find((r) => r.slug === t.slug);
    if (existing) return compareExisting(db, existing, t);
    const owner = rows[0];
    if (owner) {
      const field = t.clerkOrgId ? 'clerkOrgId' : 'clerkUserId';
      return {
        kind: 'conflict',
        field,
        message: `${field} ${t.clerkOrgId ?? t.clerkUserId} already belongs to tenant '${owner.slug}'; a Clerk ${t.clerkOrgId ? 'organisation' : 'user'} has at most one tenant.`,
      };
    }
    try {
      const tenant = await db.transaction().execute(async (trx) => {
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
          .returningAll()
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('fleets')
          .values({
            id: newId('flt'),
            tenant_id: row.id,
            status: 'pending',
            template_id: t.template.id,
            dashboard_url: null,
            agent_specs: JSON.stringify(t.template.agents.map((a) => ({ name: a.name, role: a.role }))),
            repos: JSON.stringify(t.template.repos),
            gcp_resources: null,
          })
          .execute();
        await recordEvent(trx, row.id, 'status', { status: 'pending' });
        await audit(trx, {
          tenantId: row.id,
          actor: t.actor,
          action: 'tenant.create',
          detail: { slug: t.slug, plan: t.plan, templateId: t.template.id },
        });
        return row;
      });
      return { kind: 'created', tenant };
    } catch (e) {
      // A concurrent request won the race on a unique index: look again and answer as for it.
      if ((e as { code?: string }).code === '23505' && attempt < 2) continue;
      throw e;
    }
  }
  throw new Error('createTenantWithFleet: unreachable');
}

async function compareExisting(db: Db, existing: TenantRow, t: NewTenant): Promise<CreateTenantResult> {
  const fleet = await db.selectFrom('fleets').select('template_id').where('tenant_id', '=', existing.id).executeTakeFirst();
  const differences: Array<[string, unknown, unknown]> = [
    ['name', existing.name, t.name],
    ['plan', existing.plan, t.plan],
    ['clerkOrgId', existing.clerk_org_id, t.clerkOrgId],
    ['clerkUserId', existing.clerk_user_id, t.clerkUserId],
    ['templateId', fleet?.template_id ?? null, t.template.id],
  ];
  const diff = differences.find(([, a, b]) => a !== b);
  if (!diff) return { kind: 'existing', tenant: existing };
  return {
    kind: 'conflict',
    field: diff[0],
    message: `Tenant '${t.slug}' already exists with a different ${diff[0]} (${JSON.stringify(diff[1])}). Use another tenantId, or send the same body to get the existing tenant.`,
  };
}
