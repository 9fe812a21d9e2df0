import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { resumeFleet } from '../../services/fleet/resume.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_SESSION } from '../schemas.ts';
import { RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

const route = createRoute({
  method: 'post',
  path: '/api/fleet/resume',
  operationId: 'resumeFleet',
  tags: ['Fleet'],
  summary: "Resume the caller's suspended fleet",
  description:
    'Only from `suspended`. The run starts the machine, then the gateway, checks its health; status `active` when it ends. ' +
    'A fleet the platform suspended can be resumed by the platform only (403).',
  security: SECURITY_SESSION,
  responses: {
    202: { description: 'Accepted: the resume run', content: { 'application/json': { schema: RunAccepted } } },
    ...errorResponses(401, 403, 404, 409, 429),
  },
});

export function registerFleetResume(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await resumeFleet(deps.services, { principal: c.get('principal') });
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
