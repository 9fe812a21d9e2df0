import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { reconfigureFleet } from '../../services/fleet/reconfigure.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, ReconfigureRequestSchema, SECURITY_SESSION } from '../schemas.ts';
import { acceptedBody, ProvisionAccepted } from './provision-common.ts';

export const RECONFIGURE_DESCRIPTION =
  'Checks the settings sent as provision does, stores them (what is left out is kept; `discord: null` or ' +
  '`missionControl: null` removes that integration and destroys its secrets) and starts a provision run that re-does ' +
  'only the steps the change affects: a new template, repos or git token from workspace_bootstrap, Discord from ' +
  'agent_config, Mission Control from connectivity_check. From `active`, or `error` after a failed provision. While ' +
  'any run is at work the answer is a 409 naming it; a request that changes nothing is a 400.';

const route = createRoute({
  method: 'patch',
  path: '/api/fleet',
  operationId: 'reconfigureFleet',
  tags: ['Fleet'],
  summary: "Change the caller's fleet's settings; only the affected steps run again",
  description: `${RECONFIGURE_DESCRIPTION} In an organisation, only org:admin may reconfigure.`,
  security: SECURITY_SESSION,
  request: { body: { required: true, content: { 'application/json': { schema: ReconfigureRequestSchema } } } },
  responses: {
    202: {
      description: 'Accepted: the provision run that applies the change',
      content: { 'application/json': { schema: ProvisionAccepted } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});

export function registerFleetReconfigure(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const outcome = await reconfigureFleet(deps.services, { principal: c.get('principal') }, c.req.valid('json'));
    return c.json(await acceptedBody(deps, outcome), 202);
  });
}
