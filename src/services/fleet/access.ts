import { clerkOwnerOf, isOrgAdmin, type Principal } from '../../auth/principal.ts';
import type { Db } from '../../db/connection.ts';
import { findTenantBySlugOrId, findTenantForClerk } from '../../db/tenants.ts';
import type { Caller } from '../context.ts';
import { ServiceError } from '../errors.ts';

/** In an organisation only admins change the fleet; a personal tenant is its user's own. */
export function assertMayChangeFleet(p: Principal): void {
  assertOrgAdminFor(p, 'change the fleet');
}

/** The audit log is the admins' too: what members may not change, they may not read the history of either. */
export function assertMayReadAudit(p: Principal): void {
  assertOrgAdminFor(p, "read the fleet's audit log");
}

/** `forbidden`, naming what only admins may do and the caller's role, for an org member. */
function assertOrgAdminFor(p: Principal, what: string): void {
  if (p.orgId && !isOrgAdmin(p)) {
    throw new ServiceError(
      'forbidden',
      `Only organisation admins can ${what}; your role in ${p.orgSlug ?? p.orgId} is ${p.orgRole ?? 'none'}.`,
    );
  }
}

/** The id of the tenant the platform names (its `tenantId` slug or `tnt_…` id); `not_found` otherwise. */
export async function platformTenant(db: Db, key: string): Promise<string> {
  const tenant = await findTenantBySlugOrId(db, key);
  if (!tenant) throw new ServiceError('not_found', `No tenant '${key}'.`);
  return tenant.id;
}

/** The id of the caller's existing tenant; for a session without one, `not_found` saying `missing`. */
export async function existingTenantOf(db: Db, caller: Caller, missing: string): Promise<string> {
  if (!('principal' in caller)) return platformTenant(db, caller.tenant);
  const tenant = await findTenantForClerk(db, clerkOwnerOf(caller.principal));
  if (!tenant) throw new ServiceError('not_found', missing);
  return tenant.id;
}
