import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { deprovisionFleet } from '../../services/fleet/deprovision.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

const route = createRoute({
  method: 'delete',
  path: '/api/fleet',
  operationId: 'deprovisionFleet',
  tags: ['Fleet'],
  summary: "Deprovision the caller's fleet: machine, gateway and secrets deleted, with proof",
  description:
    'From any status but `provisioning` (cancel first). The run records what it will delete, stops and deletes the gateway ' +
    'and the machine (GCP: the VM and its boot disk), destroys the secrets, then removes the fleet; its last log entry (on the ' +
    'event stream, and in GET /api/fleet/audit) lists each resource and how its absence was verified. Then GET /api/fleet ' +
    'answers `fleet: null`, and a new provision starts clean.',
  security: SECURITY_SESSION,
  responses: {
    202: { description: 'Accepted: the deprovision run', content: { 'application/json': { schema: RunAccepted } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export function registerFleetDeprovision(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await deprovisionFleet(deps.services, { principal: c.get('principal') });
    if (outcome.kind === 'tenant-removed') throw new Error('a tenant route never removes the tenant');
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
