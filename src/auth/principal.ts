/** Who is calling, as established from a verified Clerk session token. */
export interface Principal {
  userId: string;
  sessionId: string | null;
  /** The active organisation of the session, if any: it decides which tenant the caller acts for. */
  orgId: string | null;
  orgRole: string | null;
  orgSlug: string | null;
}

export const isOrgAdmin = (p: Principal): boolean => p.orgRole === 'org:admin';

/**
 * The tenant a session acts for, by the seed's rule: a session with an active organisation acts
 * for that organisation's tenant only (never falling back to the personal one); otherwise for the
 * user's personal tenant.
 */
export function clerkOwnerOf(p: Principal): { clerkOrgId: string } | { clerkUserId: string } {
  return p.orgId ? { clerkOrgId: p.orgId } : { clerkUserId: p.userId };
}
