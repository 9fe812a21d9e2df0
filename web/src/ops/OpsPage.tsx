import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiProblem } from '../api.ts';
import { TextField } from '../Field.tsx';
import { callPlatform, loadPlatformToken, savePlatformToken } from './platform-api.ts';
import { TenantDetail } from './TenantDetail.tsx';
import { TenantsTable } from './TenantsTable.tsx';

/** The operator view at /ops: the platform token once per tab, then every tenant and the platform's verbs. */
export function OpsPage() {
  const [token, setToken] = useState<string | null>(loadPlatformToken);
  const [selected, setSelected] = useState<string | null>(null);
  const client = useQueryClient();
  const forget = () => {
    savePlatformToken(null);
    client.removeQueries({ predicate: (q) => q.queryKey[0] === 'ops' });
    setSelected(null);
    setToken(null);
  };
  if (!token)
    return (
      <TokenForm
        onToken={(t) => {
          savePlatformToken(t);
          setToken(t);
        }}
      />
    );
  return (
    <>
      <header className="top">
        <span className="brand">Agent Fleet · operator</span>
        <button type="button" onClick={forget}>
          Forget the platform token
        </button>
      </header>
      <main className="page">
        <h1>Tenants</h1>
        <TenantsTable token={token} onOpen={setSelected} />
        {selected && <TenantDetail key={selected} token={token} tenantId={selected} onGone={() => setSelected(null)} />}
      </main>
    </>
  );
}

function TokenForm({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(undefined);
    const token = value.trim();
    if (!token) return setProblem('Paste the platform token (FLEET_PLATFORM_TOKEN of this server).');
    setBusy(true);
    try {
      // Checked once here, so a wrong token is said at once and never stored.
      await callPlatform(token, '/api/tenants?limit=1');
      onToken(token);
    } catch (err) {
      setProblem(err instanceof ApiProblem ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="page narrow">
      <h1>Operator view</h1>
      <p className="hint">The platform token is kept in this tab only (session storage), until you close it or forget it.</p>
      <form onSubmit={submit} noValidate>
        <TextField id="platform-token" label="Platform token" type="password" value={value} onChange={setValue} error={problem} required />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Open the operator view'}
        </button>
      </form>
    </main>
  );
}
