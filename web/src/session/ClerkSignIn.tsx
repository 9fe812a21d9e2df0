import { ClerkFailed, ClerkLoading, ClerkProvider, OrganizationSwitcher, SignIn, useAuth } from '@clerk/react';
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useMemo } from 'react';
import { ApiProblem } from '../api.ts';
import { type Session, SessionContext, SIGN_IN_OPTIONS_KEY } from './session.ts';

/**
 * Clerk sign-in: Clerk's own sign-in form, its organisation switcher (the tenant follows the active
 * organisation), and a Session whose token is Clerk's session token. This file is its own chunk,
 * loaded only when the server says it signs people in with Clerk: the dev bundle never fetches it.
 */
export default function ClerkSignIn({ publishableKey, children }: { publishableKey: string; children: ReactNode }) {
  return (
    <ClerkProvider publishableKey={publishableKey}>
      <ClerkSession>{children}</ClerkSession>
    </ClerkProvider>
  );
}

function ClerkSession({ children }: { children: ReactNode }) {
  const auth = useAuth();
  const client = useQueryClient();
  const { isLoaded, isSignedIn, userId, orgId, orgRole, getToken, signOut } = auth;

  // Another user or another organisation is another tenant: nothing the last one read may show.
  // biome-ignore lint/correctness/useExhaustiveDependencies: it must run exactly when the user or the organisation changes
  useEffect(() => {
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== SIGN_IN_OPTIONS_KEY[0] });
  }, [client, userId, orgId]);

  const session = useMemo<Session | null>(() => {
    if (!isSignedIn || !userId) return null;
    return {
      who: { userId, orgId: orgId ?? null, orgRole: orgId ? (orgRole === 'org:admin' ? 'admin' : 'member') : null },
      getToken: async () => {
        const token = await getToken();
        if (!token) throw new ApiProblem('Your Clerk session has ended: sign in again.', 401, 'unauthorized');
        return token;
      },
      signOut: () => void signOut(),
      orgSwitcher: <OrganizationSwitcher hidePersonal={false} />,
    };
  }, [isSignedIn, userId, orgId, orgRole, getToken, signOut]);

  if (!isLoaded)
    return (
      <main className="page narrow">
        <ClerkLoading>
          <p>Loading Clerk sign-in…</p>
        </ClerkLoading>
        <ClerkFailed>
          <p className="error" role="alert">
            Clerk's sign-in could not be loaded from this server's Clerk Frontend API. Check the network and the server's
            CLERK_PUBLISHABLE_KEY, then reload.
          </p>
        </ClerkFailed>
      </main>
    );
  if (!session)
    return (
      <main className="page narrow">
        <SignIn routing="hash" />
      </main>
    );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
