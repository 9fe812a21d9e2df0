import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { readHealth } from '../../services/fleet/health-read.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { FleetHealthBody, healthBody } from './health-common.ts';

const route = createRoute({
  method: 'get',
  path: '/api/fleet/health',
  operationId: 'getFleetHealth',
  tags: ['Fleet'],
  summary: "The caller's fleet health: machine, gateway, Mission Control and each agent",
  description:
    'Any member of the tenant. What the reconciler last observed (a read, not a probe), each check with when it was made and its error; `health: null` when there is no fleet.',
  security: SECURITY_SESSION,
  responses: {
    200: { description: 'The health rollup', content: { 'application/json': { schema: FleetHealthBody } } },
    ...errorResponses(401),
  },
});

export function registerFleetHealth(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => c.json(healthBody(await readHealth(deps.services, { principal: c.get('principal') })), 200));
}
