import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { listTenantAudit } from '../../services/fleet/audit-list.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { AuditPage, AuditQuery } from './audit-common.ts';

const route = createRoute({
  method: 'get',
  path: '/api/fleet/audit',
  operationId: 'getFleetAudit',
  tags: ['Fleet'],
  summary: "Who did what to the caller's tenant, oldest first",
  description: 'Org admins (or the personal owner) only. Kept after a deprovision, with its proof entry.',
  security: SECURITY_SESSION,
  request: { query: AuditQuery },
  responses: {
    200: { description: 'A page of the audit log', content: { 'application/json': { schema: AuditPage } } },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerFleetAudit(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const page = await listTenantAudit(deps.services, { principal: c.get('principal') }, c.req.valid('query'));
    return c.json({ ok: true as const, ...page }, 200);
  });
}
