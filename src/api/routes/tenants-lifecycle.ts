import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { cancelProvisioning } from '../../services/fleet/cancel.ts';
import { deprovisionFleet } from '../../services/fleet/deprovision.ts';
import { resumeFleet } from '../../services/fleet/resume.ts';
import { PlatformSuspendInput, suspendFleet } from '../../services/fleet/suspend.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, SECURITY_PLATFORM } from '../schemas.ts';
import { CancelAccepted, cancelAcceptedBody, RunAccepted, runAcceptedBody } from './lifecycle-common.ts';

/** The platform's suspend, resume, cancel and delete of a tenant's fleet (the same verbs as the tenant's). */
const params = z.object({ tenantId: z.string().min(1).max(100).openapi({ description: 'tenantId (slug) or tnt_… id' }) });
const accepted = { description: 'Accepted: the run', content: { 'application/json': { schema: RunAccepted } } };

const suspendRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/suspend',
  operationId: 'suspendTenant',
  tags: ['Platform'],
  summary: "Suspend a tenant's fleet (billing, abuse, admin); only the platform can resume it",
  security: SECURITY_PLATFORM,
  request: {
    params,
    body: { required: true, content: { 'application/json': { schema: PlatformSuspendInput.openapi('PlatformSuspendRequest') } } },
  },
  responses: { 202: accepted, ...errorResponses(400, 401, 404, 409) },
});

const resumeRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/resume',
  operationId: 'resumeTenant',
  tags: ['Platform'],
  summary: "Resume a tenant's suspended fleet",
  security: SECURITY_PLATFORM,
  request: { params },
  responses: { 202: accepted, ...errorResponses(401, 404, 409) },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/api/tenants/{tenantId}/cancel',
  operationId: 'cancelTenant',
  tags: ['Platform'],
  summary: "Cancel a tenant's queued or running provisioning",
  security: SECURITY_PLATFORM,
  request: { params },
  responses: {
    202: { description: 'Accepted: the run that is stopped', content: { 'application/json': { schema: CancelAccepted } } },
    ...errorResponses(401, 404, 409),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/api/tenants/{tenantId}',
  operationId: 'deprovisionTenant',
  tags: ['Platform'],
  summary: 'Deprovision the fleet and remove the tenant; its audit log is kept',
  description: 'As DELETE /api/fleet, and the tenant goes with the fleet. A tenant without a fleet is removed at once (200).',
  security: SECURITY_PLATFORM,
  request: { params },
  responses: {
    202: accepted,
    200: {
      description: 'The tenant had no fleet and is removed',
      content: { 'application/json': { schema: z.object({ ok: z.literal(true), removed: z.literal('tenant') }) } },
    },
    ...errorResponses(401, 404, 409),
  },
});

export function registerTenantsLifecycle(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  const platform = (tenant: string) => ({ platform: true as const, tenant });
  app.openapi(suspendRoute, async (c) => {
    const outcome = await suspendFleet(deps.services, platform(c.req.valid('param').tenantId), c.req.valid('json'));
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
  app.openapi(resumeRoute, async (c) => {
    const outcome = await resumeFleet(deps.services, platform(c.req.valid('param').tenantId));
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
  app.openapi(cancelRoute, async (c) => {
    const outcome = await cancelProvisioning(deps.services, platform(c.req.valid('param').tenantId));
    return c.json(await cancelAcceptedBody(deps, outcome), 202);
  });
  app.openapi(deleteRoute, async (c) => {
    const outcome = await deprovisionFleet(deps.services, platform(c.req.valid('param').tenantId), { removeTenant: true });
    if (outcome.kind === 'tenant-removed') return c.json({ ok: true as const, removed: 'tenant' as const }, 200);
    return c.json(await runAcceptedBody(deps, outcome), 202);
  });
}
