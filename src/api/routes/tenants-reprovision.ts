import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { reprovisionFleet } from '../../services/fleet/reprovision.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, ReprovisionRequestSchema, SECURITY_PLATFORM } from '../schemas.ts';
import { REPROVISION_DESCRIPTION } from './fleet-reprovision.ts';
import { RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

const params = z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) });

const route = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/reprovision',
  operationId: 'reprovisionTenant',
  tags: ['Platform'],
  summary: "Delete a tenant's fleet's machine and build it again from the stored settings",
  description: REPROVISION_DESCRIPTION,
  security: SECURITY_PLATFORM,
  request: { params, body: { required: false, content: { 'application/json': { schema: ReprovisionRequestSchema } } } },
  responses: {
    202: { description: 'Accepted: the reprovision run', content: { 'application/json': { schema: RunAccepted } } },
    ...errorResponses(400, 401, 404, 409, 429),
  },
});

export function registerTenantsReprovision(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const caller = { platform: true as const, tenant: c.req.valid('param').tenantId };
    const outcome = await reprovisionFleet(deps.services, caller, c.req.valid('json'));
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
