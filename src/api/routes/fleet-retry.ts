import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { clerkOwnerOf } from '../../auth/principal.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { findTenantForClerk } from '../../db/tenants.ts';
import { requestRetry } from '../../pipeline/provision-service.ts';
import { acceptedBody, ProvisionAccepted, requireFleetAdmin, toApiError } from './provision-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/retry',
  tags: ['Fleet'],
  summary: 'Resume a failed provisioning at the step that failed',
  description: 'Only when the fleet is in `error`. Completed steps are not run again.',
  security: SECURITY_SESSION,
  responses: {
    202: { description: 'Accepted: the retry run', content: { 'application/json': { schema: ProvisionAccepted } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export function registerFleetRetry(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const principal = c.get('principal');
    requireFleetAdmin(principal);
    const tenant = await findTenantForClerk(deps.db, clerkOwnerOf(principal));
    if (!tenant) throw new ApiError('not_found', 'There is no fleet to retry: provision one first with POST /api/fleet/provision.');
    const outcome = await requestRetry(deps.provisioning, tenant.id, `user:${principal.userId}`).catch(toApiError);
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
