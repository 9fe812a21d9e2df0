import { z } from 'zod';
import {
  findTenantsBySlugOrOwner,
  insertTenantWithFleet,
  isUniqueViolation,
  type TenantRow,
  templateOfTenantFleet,
} from '../../db/tenants.ts';
import { AUTO_TENANT_PREFIX, TENANT_SLUG } from '../../domain/ids.ts';
import { PLANS } from '../../domain/plans.ts';
import { DEFAULT_TEMPLATE_ID } from '../../templates/registry.ts';
import type { ServiceContext } from '../context.ts';
import { parseInput, ServiceError } from '../errors.ts';

/** A platform's request to create a tenant (the original product's body), in plain zod. */
export const CreateTenantInput = z
  .object({
    tenantId: z
      .string()
      .max(63)
      .regex(TENANT_SLUG, 'must be snake_case: lowercase letters and digits separated by single underscores, starting with a letter')
      .refine((id) => !id.startsWith(AUTO_TENANT_PREFIX), {
        message: `'${AUTO_TENANT_PREFIX}' is reserved for tenants created at sign-in; choose an id without it`,
      }),
    name: z.string().trim().min(1).max(200),
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
  });

export type CreateTenantInput = z.input<typeof CreateTenantInput>;

/**
 * Creates a tenant and its `pending` fleet. Idempotent on `tenantId`: the same request again
 * answers the same tenant (`created: false`); a different one is a conflict naming the differing
 * field. The unique indexes decide races, not a prior read.
 */
export async function createTenant(ctx: ServiceContext, raw: CreateTenantInput): Promise<{ created: boolean; tenant: TenantRow }> {
  const input = parseInput(CreateTenantInput, raw);
  const template = ctx.templates.get(input.templateId);
  if (!template) {
    throw new ServiceError(
      'invalid_input',
      `templateId: unknown template '${input.templateId}'; known: ${ctx.templates.ids().join(', ')}`,
      'templateId',
    );
  }
  const t = {
    slug: input.tenantId,
    name: input.name,
    plan: input.plan,
    clerkOrgId: input.clerkOrgId ?? null,
    clerkUserId: input.clerkUserId ?? null,
  };
  const owner = t.clerkOrgId ? { clerkOrgId: t.clerkOrgId } : { clerkUserId: t.clerkUserId ?? '' };
  for (let attempt = 0; ; attempt++) {
    const rows = await findTenantsBySlugOrOwner(ctx.db, t.slug, owner);
    const existing = rows.find((r) => r.slug === t.slug);
    if (existing) {
      const differences: Array<[string, unknown, unknown]> = [
        ['name', existing.name, t.name],
        ['plan', existing.plan, t.plan],
        ['clerkOrgId', existing.clerk_org_id, t.clerkOrgId],
        ['clerkUserId', existing.clerk_user_id, t.clerkUserId],
        ['templateId', await templateOfTenantFleet(ctx.db, existing.id), template.id],
      ];
      const diff = differences.find(([, a, b]) => a !== b);
      if (!diff) return { created: false, tenant: existing };
      throw new ServiceError(
        'conflict',
        `Tenant '${t.slug}' already exists with a different ${diff[0]} (${JSON.stringify(diff[1])}). Use another tenantId, or send the same body to get the existing tenant.`,
        diff[0],
      );
    }
    const holder = rows[0];
    if (holder) {
      const field = t.clerkOrgId ? 'clerkOrgId' : 'clerkUserId';
      throw new ServiceError(
        'conflict',
        `${field} ${t.clerkOrgId ?? t.clerkUserId} already belongs to tenant '${holder.slug}'; a Clerk ${t.clerkOrgId ? 'organisation' : 'user'} has at most one tenant.`,
        field,
      );
    }
    try {
      const tenant = await ctx.db
        .transaction()
        .execute((trx) =>
          insertTenantWithFleet(trx, t, template, { actor: 'platform', detail: { plan: t.plan, templateId: template.id } }),
        );
      return { created: true, tenant };
    } catch (e) {
      // A concurrent request won the race on a unique index: look again and answer as for it.
      if (isUniqueViolation(e) && attempt < 2) continue;
      throw e;
    }
  }
}
