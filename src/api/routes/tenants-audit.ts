import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { listTenantAudit } from '../../services/fleet/audit-list.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_PLATFORM } from '../schemas.ts';
import { AuditPage, AuditQuery } from './audit-common.ts';

const route = createRoute({
  method: 'get',
  path: '/api/tenants/{tenantId}/audit',
  operationId: 'getTenantAudit',
  tags: ['Platform'],
  summary: "A tenant's audit log, oldest first; still answers after the tenant was deleted",
  security: SECURITY_PLATFORM,
  request: {
    params: z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) }),
    query: AuditQuery,
  },
  responses: {
    200: { description: 'A page of the audit log', content: { 'application/json': { schema: AuditPage } } },
    ...errorResponses(400, 401, 404),
  },
});

export function registerTenantsAudit(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const page = await listTenantAudit(deps.services, { platform: true, tenant: c.req.valid('param').tenantId }, c.req.valid('query'));
    return c.json({ ok: true as const, ...page }, 200);
  });
}
