import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { provisionFleet } from '../../services/fleet/provision.ts';
import { retryFleet } from '../../services/fleet/retry.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, ProvisionRequestSchema, SECURITY_PLATFORM } from '../schemas.ts';
import { acceptedBody, ProvisionAccepted } from './provision-common.ts';

const params = z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) });

const provisionRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/provision',
  operationId: 'provisionTenant',
  tags: ['Platform'],
  summary: "Provision a tenant's fleet",
  security: SECURITY_PLATFORM,
  request: { params, body: { required: false, content: { 'application/json': { schema: ProvisionRequestSchema } } } },
  responses: {
    202: { description: 'Accepted', content: { 'application/json': { schema: ProvisionAccepted } } },
    ...errorResponses(400, 401, 404, 409),
  },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/retry',
  operationId: 'retryTenant',
  tags: ['Platform'],
  summary: "Resume a tenant's failed provisioning at the failed step",
  security: SECURITY_PLATFORM,
  request: { params },
  responses: {
    202: { description: 'Accepted', content: { 'application/json': { schema: ProvisionAccepted } } },
    ...errorResponses(401, 404, 409),
  },
});

export function registerTenantsProvision(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(provisionRoute, async (c) => {
    const caller = { platform: true as const, tenant: c.req.valid('param').tenantId };
    const outcome = await provisionFleet(deps.services, caller, c.req.valid('json'));
    return c.json(await acceptedBody(deps, outcome), 202);
  });
  app.openapi(retryRoute, async (c) => {
    const outcome = await retryFleet(deps.services, { platform: true, tenant: c.req.valid('param').tenantId });
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
