import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { cancelProvisioning } from '../../services/fleet/cancel.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { CancelAccepted, cancelAcceptedBody } from './lifecycle-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/cancel',
  operationId: 'cancelFleet',
  tags: ['Fleet'],
  summary: "Cancel the caller's queued or running provisioning",
  description:
    'Only while `provisioning` (a provision or a reprovision run). A queued run is cancelled at once; a running one at its next safe point (the running step is ' +
    'aborted). The fleet ends in `error` with "Cancelled by …" in its log; retry resumes that run at that step.',
  security: SECURITY_SESSION,
  responses: {
    202: { description: 'Accepted: the run that is stopped', content: { 'application/json': { schema: CancelAccepted } } },
    ...errorResponses(401, 403, 404, 409),
  },
});

export function registerFleetCancel(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await cancelProvisioning(deps.services, { principal: c.get('principal') });
    return c.json(await cancelAcceptedBody(deps, outcome), 202);
  });
}
