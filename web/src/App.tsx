import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { callApi } from './api.ts';
import { FleetPage } from './fleet/FleetPage.tsx';
import { OpsPage } from './ops/OpsPage.tsx';
import { DevSignIn } from './session/DevSignIn.tsx';
import { SIGN_IN_OPTIONS_KEY, useSession } from './session/session.ts';

type SignInOptions = { mode: 'dev' | 'clerk'; clerkPublishableKey: string | null };

// Its own chunk, fetched only in Clerk mode: a dev server's page never loads Clerk's code.
const ClerkSignIn = lazy(() => import('./session/ClerkSignIn.tsx'));

const isOpsPath = (p: string) => p === '/ops' || p.startsWith('/ops/');

/** The operator view at /ops; anywhere else the tenant's dashboard. */
export function App() {
  return isOpsPath(window.location.pathname) ? <OpsPage /> : <TenantApp />;
}

/** Picks the sign-in mode the server has, then shows the fleet to whoever signed in. */
function TenantApp() {
  const options = useQuery({
    queryKey: SIGN_IN_OPTIONS_KEY,
    queryFn: () => callApi<SignInOptions>(null, '/api/sign-in-options'),
    staleTime: Number.POSITIVE_INFINITY,
  });
  if (options.isPending) return <p className="page">Loading…</p>;
  if (options.isError)
    return (
      <p className="page error" role="alert">
        {options.error.message}
      </p>
    );
  const signedIn = (
    <>
      <Header />
      <FleetPage />
    </>
  );
  if (options.data.mode === 'clerk') {
    if (!options.data.clerkPublishableKey)
      return (
        <p className="page error" role="alert">
          This server signs people in with Clerk but gives no publishable key: set CLERK_PUBLISHABLE_KEY on the server.
        </p>
      );
    return (
      <Suspense fallback={<p className="page">Loading sign-in…</p>}>
        <ClerkSignIn publishableKey={options.data.clerkPublishableKey}>{signedIn}</ClerkSignIn>
      </Suspense>
    );
  }
  return <DevSignIn>{signedIn}</DevSignIn>;
}

function Header() {
  const session = useSession();
  const { userId, orgId, orgRole } = session.who;
  return (
    <header className="top">
      <span className="brand">Agent Fleet</span>
      {session.orgSwitcher}
      <span className="who" data-testid="who">
        {userId}
        {orgId ? ` · ${orgId} (${orgRole})` : ' · personal'}
      </span>
      <button type="button" onClick={session.signOut}>
        Sign out
      </button>
    </header>
  );
}
