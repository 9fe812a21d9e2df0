import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { findTenantBySlugOrId } from '../../db/tenants.ts';
import { createTenant } from '../../services/tenants/create.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { CreateTenantSchema, errorResponses, SECURITY_PLATFORM, TenantSchema } from '../schemas.ts';
import { tenantJson } from '../serialize.ts';

const TenantResponse = z.object({ ok: z.literal(true), tenant: TenantSchema }).openapi('TenantResponse');

const route = createRoute({
  method: 'post',
  path: '/api/tenants',
  operationId: 'createTenant',
  tags: ['Platform'],
  summary: 'Create a tenant and its pending fleet (idempotent on tenantId)',
  security: SECURITY_PLATFORM,
  request: { body: { required: true, content: { 'application/json': { schema: CreateTenantSchema } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: TenantResponse } } },
    200: { description: 'The same request again: the existing tenant', content: { 'application/json': { schema: TenantResponse } } },
    ...errorResponses(400, 401, 409),
  },
});

export function registerTenantsCreate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const result = await createTenant(deps.services, c.req.valid('json'));
    const tenant = await findTenantBySlugOrId(deps.db, result.tenant.id);
    if (!tenant) throw new Error(`tenant ${result.tenant.id} vanished right after its creation`);
    return c.json({ ok: true as const, tenant: tenantJson(tenant) }, result.created ? 201 : 200);
  });
}
