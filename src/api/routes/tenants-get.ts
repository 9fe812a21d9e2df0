import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, FleetOrNullSchema, SECURITY_PLATFORM, TenantSchema } from '../schemas.ts';
import { fleetViewBounds, readFleetJson, tenantJson } from '../serialize.ts';
import { findTenantBySlugOrId } from '../../db/tenants.ts';

const route = createRoute({
  method: 'get',
  path: '/api/tenants/{tenantId}',
  operationId: 'getTenant',
  tags: ['Platform'],
  summary: 'One tenant with its fleet and provisioning log',
  security: SECURITY_PLATFORM,
  request: {
    params: z.object({
      tenantId: z.string().min(1).max(100).openapi({ description: 'The tenantId (slug) or the tnt_… id', example: 'acme_corp' }),
    }),
  },
  responses: {
    200: {
      description: 'The tenant',
      content: {
        'application/json': {
          schema: z.object({ ok: z.literal(true), tenant: TenantSchema, fleet: FleetOrNullSchema }),
        },
      },
    },
    ...errorResponses(401, 404),
  },
});

export function registerTenantsGet(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const { tenantId } = c.req.valid('param');
    const tenant = await findTenantBySlugOrId(deps.db, tenantId);
    if (!tenant) throw new ApiError('not_found', `No tenant '${tenantId}'.`);
    const fleet = (await readFleetJson(deps.db, { tenantId: tenant.id }, fleetViewBounds(deps.config)))?.fleet ?? null;
    return c.json({ ok: true as const, tenant: tenantJson(tenant), fleet }, 200);
  });
}
