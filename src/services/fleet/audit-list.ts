import { type AuditEntry, hasAudit, listAudit } from '../../db/audit.ts';
import { findTenantBySlugOrId } from '../../db/tenants.ts';
import type { Caller, ServiceContext } from '../context.ts';
import { ServiceError } from '../errors.ts';
import { assertMayReadAudit, existingTenantOf } from './access.ts';

const MAX_PAGE = 500;

/**
 * Who did what to the caller's tenant, oldest first (org admins, or the personal owner; the
 * platform for any tenant, also after the tenant was deleted). `after` is the last id seen.
 */
export async function listTenantAudit(
  ctx: ServiceContext,
  caller: Caller,
  page: { after?: number; limit?: number } = {},
): Promise<{ entries: AuditEntry[]; next: number | null }> {
  let key: string;
  if ('principal' in caller) {
    assertMayReadAudit(caller.principal);
    key = await existingTenantOf(ctx.db, caller, 'There is no tenant for this session, so nothing is audited yet.');
  } else {
    const tenant = await findTenantBySlugOrId(ctx.db, caller.tenant);
    key = tenant?.id ?? caller.tenant;
    if (!tenant && !(await hasAudit(ctx.db, key)))
      throw new ServiceError('not_found', `No tenant '${caller.tenant}', and none audited under it.`);
  }
  const limit = Math.min(Math.max(page.limit ?? 100, 1), MAX_PAGE);
  const entries = await listAudit(ctx.db, key, { afterId: page.after, limit });
  return { entries, next: entries.length === limit ? entries[entries.length - 1]!.id : null };
}
