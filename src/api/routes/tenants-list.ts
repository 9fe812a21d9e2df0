import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, SECURITY_PLATFORM, TenantSchema } from '../schemas.ts';
import { tenantJson } from '../serialize.ts';
import { listTenants } from '../../db/tenants.ts';
import { FLEET_STATUSES } from '../../domain/fleet.ts';
import { PLANS } from '../../domain/plans.ts';

const Query = z.object({
  status: z.enum(FLEET_STATUSES).optional(),
  plan: z.enum(PLANS).optional(),
  clerkOrgId: z.string().min(1).optional(),
  templateId: z.string().min(1).max(100).optional().openapi({ description: "The template of the tenant's fleet" }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().optional().openapi({ description: 'The `nextCursor` of the previous page' }),
});

const route = createRoute({
  method: 'get',
  path: '/api/tenants',
  operationId: 'listTenants',
  tags: ['Platform'],
  summary: 'List tenants, oldest first, with filters and cursor pages',
  security: SECURITY_PLATFORM,
  request: { query: Query },
  responses: {
    200: {
      description: 'A page of tenants; `nextCursor` is null on the last page',
      content: {
        'application/json': {
          schema: z.object({ ok: z.literal(true), tenants: z.array(TenantSchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});

// A cursor is the last row's creation sequence, opaque to clients so it can change later.
const encodeCursor = (seq: number) => Buffer.from(`s:${seq}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const m = /^s:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m?.[1]) throw new ApiError('invalid_input', 'cursor: not a cursor this API gave out; start again without one.', { field: 'cursor' });
  return Number(m[1]);
}

export function registerTenantsList(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const q = c.req.valid('query');
    const { rows, more } = await listTenants(deps.db, {
      status: q.status,
      plan: q.plan,
      clerkOrgId: q.clerkOrgId,
      templateId: q.templateId,
      afterSeq: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
      limit: q.limit,
    });
    const last = rows.at(-1);
    return c.json(
      { ok: true as const, tenants: rows.map(tenantJson), nextCursor: more && last ? encodeCursor(Number(last.seq)) : null },
      200,
    );
  });
}
