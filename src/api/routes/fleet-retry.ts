import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { retryFleet } from '../../services/fleet/retry.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { acceptedBody, ProvisionAccepted } from './provision-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/retry',
  operationId: 'retryFleet',
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
    const outcome = await retryFleet(deps.services, { principal: c.get('principal') });
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
