import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { suspendFleet, TenantSuspendInput } from '../../services/fleet/suspend.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/suspend',
  operationId: 'suspendFleet',
  tags: ['Fleet'],
  summary: "Suspend the caller's active fleet (gateway and machine stopped, data kept)",
  description: 'Only from `active`. The run stops the gateway, then the machine (GCP: instances.stop); status `suspended` when it ends.',
  security: SECURITY_SESSION,
  request: { body: { required: false, content: { 'application/json': { schema: TenantSuspendInput.openapi('TenantSuspendRequest') } } } },
  responses: {
    202: { description: 'Accepted: the suspend run', content: { 'application/json': { schema: RunAccepted } } },
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});

export function registerFleetSuspend(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await suspendFleet(deps.services, { principal: c.get('principal') }, c.req.valid('json'));
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
