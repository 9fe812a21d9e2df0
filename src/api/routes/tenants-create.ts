import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { errorResponses, SECURITY_PLATFORM, TenantSchema } from '../schemas.ts';
import { tenantJson } from '../serialize.ts';
import { createTenantWithFleet } from '../../db/tenant-create.ts';
import { findTenantBySlugOrId } from '../../db/tenants.ts';
import { TENANT_SLUG } from '../../domain/ids.ts';
import { PLANS } from '../../domain/plans.ts';
import { DEFAULT_TEMPLATE_ID } from '../../templates/registry.ts';

export const CreateTenantBody = z
  .object({
    tenantId: z
      .string()
      .max(63)
      .regex(TENANT_SLUG, 'must be snake_case: lowercase letters and digits separated by single underscores, starting with a letter')
      .openapi({ example: 'acme_corp' }),
    name: z.string().trim().min(1).max(200).openapi({ example: 'Acme Corp' }),
    plan: z.enum(PLANS).default('free'),
    clerkOrgId: z
      .string()
      .regex(/^org_[A-Za-z0-9]{1,64}$/, 'must be a Clerk organisation id (org_…)')
      .optional(),
    clerkUserId: z
      .string()
      .regex(/^user_[A-Za-z0-9]{1,64}$/, 'must be a Clerk user id (user_…)')
      .optional(),
    templateId: z.string().default(DEFAULT_TEMPLATE_ID),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.clerkOrgId === undefined) === (b.clerkUserId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [b.clerkOrgId === undefined ? 'clerkOrgId' : 'clerkUserId'],
        message: 'give exactly one of clerkOrgId (an organisation tenant) or clerkUserId (a personal tenant)',
      });
    }
  })
  .openapi('CreateTenant');

const TenantResponse = z.object({ ok: z.literal(true), tenant: TenantSchema }).openapi('TenantResponse');

const route = createRoute({
  method: 'post',
  path: '/api/tenants',
  tags: ['Platform'],
  summary: 'Create a tenant and its pending fleet (idempotent on tenantId)',
  security: SECURITY_PLATFORM,
  request: { body: { required: true, content: { 'application/json': { schema: CreateTenantBody } } } },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: TenantResponse } } },
    200: { description: 'The same request again: the existing tenant', content: { 'application/json': { schema: TenantResponse } } },
    ...errorResponses(400, 401, 409),
  },
});

export function registerTenantsCreate(app: OpenAPIHono<AppEnv>, deps: AppDeps): void {
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    const template = deps.templates.get(body.templateId);
    if (!template) {
      throw new ApiError('invalid_input', `templateId: unknown template '${body.templateId}'; known: ${deps.templates.ids().join(', ')}`, {
        field: 'templateId',
      });
    }
    const result = await createTenantWithFleet(deps.db, {
      slug: body.tenantId,
      name: body.name,
      plan: body.plan,
      clerkOrgId: body.clerkOrgId ?? null,
      clerkUserId: body.clerkUserId ?? null,
      template,
      actor: 'platform',
    });
    if (result.kind === 'conflict') throw new ApiError('conflict', result.message, { field: result.field });
    const tenant = await findTenantBySlugOrId(deps.db, result.tenant.id);
    if (!tenant) throw new Error(`tenant ${result.tenant.id} vanished right after its creation`);
    const status = result.kind === 'created' ? 201 : 200;
    return c.json({ ok: true as const, tenant: tenantJson(tenant) }, status);
  });
}
