import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { readHealth } from '../../services/fleet/health-read.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_PLATFORM } from '../schemas.ts';
import { FleetHealthBody, healthBody } from './health-common.ts';

const route = createRoute({
  method: 'get',
  path: '/api/tenants/{tenantId}/health',
  operationId: 'getTenantHealth',
  tags: ['Platform'],
  summary: "A tenant's fleet health: machine, gateway, Mission Control and each agent",
  security: SECURITY_PLATFORM,
  request: {
    params: z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) }),
  },
  responses: {
    200: { description: 'The health rollup', content: { 'application/json': { schema: FleetHealthBody } } },
    ...errorResponses(400, 401, 404),
  },
});

export function registerTenantsHealth(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) =>
    c.json(healthBody(await readHealth(deps.services, { platform: true, tenant: c.req.valid('param').tenantId })), 200),
  );
}
