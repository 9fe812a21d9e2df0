import { createContext, type ReactNode, useContext } from 'react';

/**
 * The one thing the dashboard needs from sign-in, whichever mode gives it (dev sign-in or Clerk):
 * a session token for the API, who it is, and a way out. Nothing else knows the mode.
 */
export interface Session {
  /** A session token valid now (renewed when close to expiry). */
  getToken(): Promise<string>;
  who: { userId: string; orgId: string | null; orgRole: 'admin' | 'member' | null };
  signOut(): void;
  /** The mode's own control for changing the active organisation (Clerk's switcher); none in dev. */
  orgSwitcher?: ReactNode;
}

/** Org members read only: only org admins and owners of a personal tenant get action buttons. */
export const mayAct = (s: Session): boolean => s.who.orgId === null || s.who.orgRole === 'admin';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in tree');
  return s;
}

/** The one query that belongs to no session: how this server signs people in. */
export const SIGN_IN_OPTIONS_KEY = ['sign-in-options'] as const;
