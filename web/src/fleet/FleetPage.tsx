import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiProblem, callApi } from '../api.ts';
import { LifecycleActions, type RunVerb } from '../lifecycle/LifecycleActions.tsx';
import type { LifecycleVerb } from '../lifecycle/lifecycle-model.ts';
import { mayAct, type Session, useSession } from '../session/session.ts';
import { ControlUiButton } from './ControlUiButton.tsx';
import { FLEET_KEY, useFleet } from './fleet-queries.ts';
import type { Fleet } from './fleet-types.ts';
import { ProvisionForm } from './ProvisionForm.tsx';
import { StatusBadge } from './StatusBadge.tsx';
import { Timeline } from './Timeline.tsx';
import { useFleetEvents } from './use-fleet-events.ts';

/** The caller's fleet: what it is, where it runs, how provisioning goes, and what they may do about it. */
export function FleetPage() {
  const session = useSession();
  const fleet = useFleet();
  const stream = useFleetEvents();
  const canAct = mayAct(session);

  return (
    <main className="page">
      <p className="live" aria-live="polite" data-testid="stream-state">
        {stream.live ? 'Live' : (stream.problem ?? 'Connecting to live updates…')}
      </p>
      {fleet.isPending && <p>Loading your fleet…</p>}
      {fleet.isError && (
        <p className="error" role="alert">
          {fleet.error.message}
        </p>
      )}
      {fleet.data === null &&
        (canAct ? <ProvisionForm /> : <p>No fleet yet. An organisation admin can provision one; you will see it here as it comes up.</p>)}
      {fleet.data && <FleetView fleet={fleet.data} canAct={canAct} />}
    </main>
  );
}

function FleetView({ fleet, canAct }: { fleet: Fleet; canAct: boolean }) {
  const m = fleet.gcpResources;
  return (
    <>
      <section aria-labelledby="fleet-heading">
        <h1 id="fleet-heading">Your fleet</h1>
        <StatusBadge status={fleet.status} />
        <dl className="facts">
          <dt>Template</dt>
          <dd data-testid="template">{fleet.templateId}</dd>
          <dt>Machine</dt>
          <dd data-testid="machine">
            {m ? (
              <>
                {m.vmName ?? '—'} · zone {m.zone ?? 'none (local)'} · ip {m.ip ?? '—'}
              </>
            ) : (
              'not made yet'
            )}
          </dd>
          <dt>Repositories</dt>
          <dd>
            {fleet.repos.length === 0 ? (
              'none'
            ) : (
              <ul className="plain" data-testid="repos">
                {fleet.repos.map((r) => (
                  <li key={r}>{r}</li>
                ))}
              </ul>
            )}
          </dd>
        </dl>
        {canAct && fleet.dashboardUrl && fleet.status === 'active' && (
          <div className="actions">
            <ControlUiButton />
          </div>
        )}
      </section>
      <section aria-labelledby="agents-heading">
        <h2 id="agents-heading">Agents</h2>
        <ul className="agents" data-testid="agents">
          {fleet.agentSpecs.map((a) => (
            <li key={a.name}>
              <span className="agent-name">{a.name}</span> <span className="agent-role">{a.role}</span>
            </li>
          ))}
        </ul>
      </section>
      {canAct && <TenantActions fleet={fleet} />}
      <Timeline log={fleet.provisionLog} retry={canAct ? <RetryButton /> : null} />
    </>
  );
}

// The tenant's own lifecycle routes: the tenant comes from the session, never from a path.
const TENANT_ROUTES: Record<LifecycleVerb, { method: string; path: string }> = {
  cancel: { method: 'POST', path: '/api/fleet/cancel' },
  suspend: { method: 'POST', path: '/api/fleet/suspend' },
  resume: { method: 'POST', path: '/api/fleet/resume' },
  deprovision: { method: 'DELETE', path: '/api/fleet' },
};

/** What a tenant types to confirm a deprovision: the name it knows its tenant by. */
const confirmFor = (s: Session) =>
  s.who.orgId ? { expected: s.who.orgId, named: 'your organisation id' } : { expected: s.who.userId, named: 'your user id' };

function TenantActions({ fleet }: { fleet: Fleet }) {
  const session = useSession();
  const client = useQueryClient();
  const run: RunVerb = async (verb) => {
    const { method, path } = TENANT_ROUTES[verb];
    await callApi(session, path, { method });
    await client.invalidateQueries({ queryKey: FLEET_KEY });
  };
  return <LifecycleActions status={fleet.status} run={run} confirm={confirmFor(session)} />;
}

function RetryButton() {
  const session = useSession();
  const client = useQueryClient();
  const retry = useMutation({
    mutationFn: () => callApi(session, '/api/fleet/retry', { method: 'POST' }),
    onSuccess: () => client.invalidateQueries({ queryKey: FLEET_KEY }),
  });
  return (
    <div className="actions">
      <button type="button" className="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
        {retry.isPending ? 'Retrying…' : 'Retry from this step'}
      </button>
      {retry.isError && (
        <p className="error" role="alert">
          {retry.error instanceof ApiProblem ? retry.error.message : String(retry.error)}
        </p>
      )}
    </div>
  );
}
