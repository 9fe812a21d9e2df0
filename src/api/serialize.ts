import type { z } from '@hono/zod-openapi';
import type { TenantWithFleet } from '../db/tenants.ts';
import type { TenantSchema } from './schemas.ts';

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export function tenantJson(t: TenantWithFleet): z.infer<typeof TenantSchema> {
  return {
    id: t.id,
    tenantId: t.slug,
    name: t.name,
    plan: t.plan,
    kind: t.kind,
    clerkOrgId: t.clerk_org_id,
    clerkUserId: t.clerk_user_id,
    status: t.fleet_status,
    templateId: t.template_id,
    createdAt: iso(t.created_at),
    updatedAt: iso(t.updated_at),
  };
}
