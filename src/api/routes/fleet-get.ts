import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { clerkOwnerOf } from '../../auth/principal.ts';
import type { AppDeps, AppEnv } from '../context.ts';
import { errorResponses, FleetOrNullSchema, SECURITY_SESSION } from '../schemas.ts';

export const FleetResponseSchema = z.object({ ok: z.literal(true), fleet: FleetOrNullSchema }).openapi('FleetResponse');

const route = createRoute({
  method: 'get',
  path: '/api/fleet',
  operationId: 'getFleet',
  tags: ['Fleet'],
  summary: "The caller's fleet: configuration and provisioning state",
  description:
    "Resolves the tenant from the session: the active organisation's tenant, otherwise the user's personal tenant. " +
    '`fleet` is null when that tenant does not exist or has no fleet yet.',
  security: SECURITY_SESSION,
  responses: {
    200: { description: 'The fleet, or null', content: { 'application/json': { schema: FleetResponseSchema } } },
    ...errorResponses(401),
  },
});

export function registerFleetGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    // Served from the NOTIFY-invalidated cache as ready JSON (see fleet-view-cache.ts).
    const body = await deps.fleetCache.responseBody(clerkOwnerOf(c.get('principal')));
    return c.body(body, 200, { 'Content-Type': 'application/json' }) as never;
  });
}
