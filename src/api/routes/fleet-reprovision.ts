import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { reprovisionFleet } from '../../services/fleet/reprovision.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, ReprovisionRequestSchema, SECURITY_SESSION } from '../schemas.ts';
import { RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

export const REPROVISION_DESCRIPTION =
  'One run of kind `reprovision`: the machine is torn down as a deprovision does it (what will be deleted recorded first, ' +
  'its absence proven in the log), then built again with the provision steps from the stored settings; the fleet, its ' +
  'settings, secrets, log and audit are kept, and it ends `active`. From `active` or `error`. `confirm` must be the ' +
  "fleet's tenantId (the platform's id for the tenant, or its tnt_… id); a wrong or missing one is a 400 whose message names it.";

const route = createRoute({
  method: 'post',
  path: '/api/fleet/reprovision',
  operationId: 'reprovisionFleet',
  tags: ['Fleet'],
  summary: "Delete the caller's fleet's machine and build it again from the stored settings",
  description: `${REPROVISION_DESCRIPTION} In an organisation, only org:admin may reprovision.`,
  security: SECURITY_SESSION,
  request: { body: { required: false, content: { 'application/json': { schema: ReprovisionRequestSchema } } } },
  responses: {
    202: { description: 'Accepted: the reprovision run', content: { 'application/json': { schema: RunAccepted } } },
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});

export function registerFleetReprovision(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await reprovisionFleet(deps.services, { principal: c.get('principal') }, c.req.valid('json'));
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
