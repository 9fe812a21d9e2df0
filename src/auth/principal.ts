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
