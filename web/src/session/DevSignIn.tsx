import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useCallback, useMemo, useState } from 'react';
import { ApiProblem, callApi } from '../api.ts';
import { TextField } from '../Field.tsx';
import { type Session, SessionContext, SIGN_IN_OPTIONS_KEY } from './session.ts';

type Who = Session['who'];
type Stored = { who: Who; token: string; expiresAtMs: number };

// Session storage only: a dev session ends with the tab, like a Clerk session cookie would not outlive sign-out.
const STORAGE_KEY = 'agent-fleet.dev-session';
// Ask for a new token this long before the current one expires.
const RENEW_BEFORE_MS = 60_000;

async function mint(who: Who): Promise<Stored> {
  const body = await callApi<{ token: string; expiresAt: string }>(null, '/api/dev/session', {
    method: 'POST',
    json: { userId: who.userId, ...(who.orgId ? { orgId: who.orgId, orgRole: who.orgRole ?? 'admin' } : {}) },
  });
  return { who, token: body.token, expiresAtMs: Date.parse(body.expiresAt) };
}

function load(): Stored | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

/** Dev sign-in: a page asking who you are, then a Session backed by POST /api/dev/session. */
export function DevSignIn({ children }: { children: ReactNode }) {
  const [stored, setStored] = useState<Stored | null>(load);
  const client = useQueryClient();
  const remember = useCallback(
    (s: Stored | null) => {
      if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
      else sessionStorage.removeItem(STORAGE_KEY);
      // What one session read is that session's: the next person must not see it, even for a moment.
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== SIGN_IN_OPTIONS_KEY[0] });
      setStored(s);
    },
    [client],
  );

  const session = useMemo<Session | null>(() => {
    if (!stored) return null;
    let current = stored;
    return {
      who: stored.who,
      getToken: async () => {
        if (current.expiresAtMs - Date.now() < RENEW_BEFORE_MS) {
          current = await mint(current.who);
          sessionStorage.setItem(STORAGE_KEY, JSON.stringify(current));
        }
        return current.token;
      },
      signOut: () => remember(null),
    };
  }, [stored, remember]);

  if (!session) return <DevSignInPage onSignedIn={remember} />;
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

function DevSignInPage({ onSignedIn }: { onSignedIn: (s: Stored) => void }) {
  const [userId, setUserId] = useState('user_alice');
  const [orgId, setOrgId] = useState('');
  const [orgRole, setOrgRole] = useState<'admin' | 'member'>('admin');
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const org = orgId.trim();
      onSignedIn(await mint({ userId: userId.trim(), orgId: org || null, orgRole: org ? orgRole : null }));
    } catch (err) {
      setProblem(err instanceof ApiProblem ? err : new ApiProblem(String(err), 0, 'unknown'));
    } finally {
      setBusy(false);
    }
  };
  const errorFor = (field: string) => (problem?.field === field ? problem.message : undefined);

  return (
    <main className="page narrow">
      <h1>Sign in (dev)</h1>
      <p className="hint">
        Dev sign-in: this server has no Clerk settings, so you say who you are. Leave the organisation empty for a personal fleet.
      </p>
      <form onSubmit={submit} noValidate>
        <TextField id="dev-user" label="User id" value={userId} onChange={setUserId} error={errorFor('userId')} required />
        <TextField id="dev-org" label="Organisation id (optional)" value={orgId} onChange={setOrgId} error={errorFor('orgId')} />
        <div className="field">
          <label htmlFor="dev-role">Role in the organisation</label>
          <select
            id="dev-role"
            value={orgRole}
            disabled={orgId.trim() === ''}
            onChange={(e) => setOrgRole(e.target.value as 'admin' | 'member')}
          >
            <option value="admin">admin</option>
            <option value="member">member (read only)</option>
          </select>
        </div>
        {problem && !problem.field && (
          <p className="error" role="alert">
            {problem.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
