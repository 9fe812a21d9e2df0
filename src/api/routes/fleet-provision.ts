import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { provisionFleet } from '../../services/fleet/provision.ts';
import { errorResponses, ProvisionRequestSchema, SECURITY_SESSION } from '../schemas.ts';
import { acceptedBody, ProvisionAccepted } from './provision-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/provision',
  operationId: 'provisionFleet',
  tags: ['Fleet'],
  summary: "Provision the caller's fleet (creates the tenant if needed)",
  description:
    'Records the request, moves the fleet pending → provisioning and queues a run, in one transaction; the work happens ' +
    'in workers. Watch it with GET /api/fleet or GET /api/fleet/events. While a run is active, the same request answers ' +
    'with that run. On a fleet in `error` this is "fix and provision again": the settings sent replace the stored ones ' +
    '(what is left out is kept) and the run resumes at the earliest step they affect. In an organisation, only org:admin ' +
    'may provision.',
  security: SECURITY_SESSION,
  request: { body: { required: false, content: { 'application/json': { schema: ProvisionRequestSchema } } } },
  responses: {
    202: {
      description: 'Accepted: the run that is provisioning the fleet',
      content: { 'application/json': { schema: ProvisionAccepted } },
    },
    ...errorResponses(400, 401, 403, 409),
  },
});

export function registerFleetProvision(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await provisionFleet(deps.services, { principal: c.get('principal') }, c.req.valid('json'));
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
