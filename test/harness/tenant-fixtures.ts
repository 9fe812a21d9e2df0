import { expect } from 'vitest';
import type { FleetStatus } from '../../src/domain/fleet.ts';
import type { TestApp } from './app.ts';

/**
 * A tenant of a Clerk organisation, made by the platform, whose fleet is put in `status` (for the
 * HTTP-edge tests, which run no workers), and the token of one of its org admins.
 */
export async function orgTenantWithFleet(
  t: TestApp,
  slug: string,
  status: FleetStatus = 'pending',
): Promise<{ admin: string; orgId: string }> {
  const orgId = `org_${slug.replace(/_/g, '')}`;
  expect((await t.createTenant({ tenantId: slug, name: slug, clerkOrgId: orgId })).status).toBe(201);
  if (status !== 'pending') {
    await t.database.db
      .updateTable('fleets')
      .set({ status })
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', slug))
      .execute();
  }
  return { admin: t.token({ userId: `user_${slug.replace(/_/g, '')}`, orgId, orgRole: 'admin' }), orgId };
}

/** The platform's view of a tenant (to check that a stranger's request changed nothing). */
export const platformView = async (t: TestApp, slug: string) => (await t.request(`/api/tenants/${slug}`, { platform: true })).json();

export type ErrorBody = { error: { code: string; message: string } };
