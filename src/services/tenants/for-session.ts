import { clerkOwnerOf, type Principal } from '../../auth/principal.ts';
import type { Db } from '../../db/connection.ts';
import { findTenantForClerk, insertTenantWithFleet, slugTaken } from '../../db/tenants.ts';
import { AUTO_TENANT_PREFIX, newId } from '../../domain/ids.ts';
import type { Template } from '../../domain/template.ts';

/**
 * The tenant a session acts for, created with a `pending` fleet of `template` when missing (an
 * org tenant for an org session, else the user's personal one), inside the caller's transaction.
 * Two first requests race on the unique Clerk id: the loser's transaction fails with 23505 and
 * its caller runs it again, finding the winner's tenant.
 */
export async function ensureTenantForSession(trx: Db, p: Principal, template: Template): Promise<string> {
  const found = await findTenantForClerk(trx, clerkOwnerOf(p));
  if (found) return found.id;
  const name = p.orgId ? (p.orgSlug ?? p.orgId) : p.userId;
  const base = autoSlug(name);
  const slug = (await slugTaken(trx, base)) ? `${base}_${newId('tnt').slice(4, 10)}` : base;
  const tenant = await insertTenantWithFleet(
    trx,
    { slug, name, plan: 'free', clerkOrgId: p.orgId, clerkUserId: p.orgId ? null : p.userId },
    template,
    { actor: `user:${p.userId}`, detail: { via: 'provision' } },
  );
  return tenant.id;
}

/**
 * `auto_<name>`: in the namespace platform ids may not use (AUTO_TENANT_PREFIX). At most 45
 * characters, so with a collision suffix the VM name (`fleet-` + slug) stays within GCE's 63.
 */
function autoSlug(raw: string): string {
  const s = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40)
    .replace(/_+$/, '');
  return `${AUTO_TENANT_PREFIX}${s || 'tenant'}`;
}
