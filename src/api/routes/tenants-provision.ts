import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, SECURITY_PLATFORM } from '../schemas.ts';
import { findTenantBySlugOrId } from '../../db/tenants.ts';
import { ProvisionBody } from '../../pipeline/fleet-request.ts';
import { requestProvision, requestRetry } from '../../pipeline/provision-service.ts';
import { acceptedBody, ProvisionAccepted, toApiError } from './provision-common.ts';

const params = z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) });

const provisionRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/provision',
  tags: ['Platform'],
  summary: "Provision a tenant's fleet",
  security: SECURITY_PLATFORM,
  request: { params, body: { required: false, content: { 'application/json': { schema: ProvisionBody } } } },
  responses: {
    202: { description: 'Accepted', content: { 'application/json': { schema: ProvisionAccepted } } },
    ...errorResponses(400, 401, 404, 409),
  },
});

const retryRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/retry',
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
    const { tenantId } = c.req.valid('param');
    const tenant = await findTenantBySlugOrId(deps.db, tenantId);
    if (!tenant) throw new ApiError('not_found', `No tenant '${tenantId}'.`);
    const body = c.req.valid('json') ?? {};
    const outcome = await requestProvision(deps.provisioning, { tenantId: tenant.id }, body, 'platform').catch(toApiError);
    return c.json(await acceptedBody(deps, outcome), 202);
  });
  app.openapi(retryRoute, async (c) => {
    const { tenantId } = c.req.valid('param');
    const tenant = await findTenantBySlugOrId(deps.db, tenantId);
    if (!tenant) throw new ApiError('not_found', `No tenant '${tenantId}'.`);
    const outcome = await requestRetry(deps.provisioning, tenant.id, 'platform').catch(toApiError);
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
