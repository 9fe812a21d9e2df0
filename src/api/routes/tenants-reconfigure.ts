import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { reconfigureFleet } from '../../services/fleet/reconfigure.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, ReconfigureRequestSchema, SECURITY_PLATFORM } from '../schemas.ts';
import { RECONFIGURE_DESCRIPTION } from './fleet-reconfigure.ts';
import { acceptedBody, ProvisionAccepted } from './provision-common.ts';

const params = z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) });

const route = createRoute({
  method: 'patch',
  path: '/api/tenants/{tenantId}/fleet',
  operationId: 'reconfigureTenant',
  tags: ['Platform'],
  summary: "Change a tenant's fleet's settings; only the affected steps run again",
  description: RECONFIGURE_DESCRIPTION,
  security: SECURITY_PLATFORM,
  request: { params, body: { required: true, content: { 'application/json': { schema: ReconfigureRequestSchema } } } },
  responses: {
    202: {
      description: 'Accepted: the provision run that applies the change',
      content: { 'application/json': { schema: ProvisionAccepted } },
    },
    ...errorResponses(400, 401, 404, 409, 429),
  },
});

export function registerTenantsReconfigure(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await reconfigureFleet(deps.services, { platform: true, tenant: c.req.valid('param').tenantId }, c.req.valid('json'));
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
