import { useQuery } from '@tanstack/react-query';
import { callApi } from './api.ts';
import { FleetPage } from './fleet/FleetPage.tsx';
import { OpsPage } from './ops/OpsPage.tsx';
import { DevSignIn } from './session/DevSignIn.tsx';
import { SIGN_IN_OPTIONS_KEY, useSession } from './session/session.ts';

type SignInOptions = { mode: 'dev' | 'clerk'; clerkPublishableKey: string | null };

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
  if (options.data.mode === 'clerk') {
    // TODO(issue 10): Clerk sign-in with @clerk/react (<SignIn />, <OrganizationSwitcher />) as a
    // chunk loaded only in this mode, yielding the same Session. Until then, say so plainly.
    return (
      <main className="page narrow">
        <h1>Sign in</h1>
        <p className="error" role="alert">
          This server uses Clerk sign-in, which this dashboard does not support yet. Use the API with a Clerk session token, or run the
          server without Clerk settings for dev sign-in.
        </p>
      </main>
    );
  }
  return (
    <DevSignIn>
      <Header />
      <FleetPage />
    </DevSignIn>
  );
}

function Header() {
  const session = useSession();
  const { userId, orgId, orgRole } = session.who;
  return (
    <header className="top">
      <span className="brand">Agent Fleet</span>
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
