import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { ApiProblem } from '../api.ts';
import { StatusBadge } from '../fleet/StatusBadge.tsx';
import { Timeline } from '../fleet/Timeline.tsx';
import type { Fleet } from '../fleet/fleet-types.ts';
import { LifecycleActions, type RunVerb } from '../lifecycle/LifecycleActions.tsx';
import type { LifecycleVerb } from '../lifecycle/lifecycle-model.ts';
import { callPlatform, type TenantRow } from './platform-api.ts';

// The platform has no event stream of its own: a tenant's page is read again this often while open.
const REFRESH_MS = 1500;

const platformRoute = (tenantId: string, verb: LifecycleVerb | 'retry') => {
  const base = `/api/tenants/${encodeURIComponent(tenantId)}`;
  return verb === 'deprovision' ? { method: 'DELETE', path: base } : { method: 'POST', path: `${base}/${verb}` };
};

/** One tenant: its fleet, its timeline and the platform's actions on it. */
export function TenantDetail({ token, tenantId, onGone }: { token: string; tenantId: string; onGone: () => void }) {
  const client = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
  const detail = useQuery({
    queryKey: ['ops', 'tenant', tenantId],
    queryFn: () => callPlatform<{ tenant: TenantRow; fleet: Fleet | null }>(token, `/api/tenants/${encodeURIComponent(tenantId)}`),
    refetchInterval: REFRESH_MS,
    retry: false,
  });
  // Opening a tenant moves focus to it, so a keyboard user lands where the new content is.
  useEffect(() => heading.current?.focus(), []);
  const gone = detail.error instanceof ApiProblem && detail.error.status === 404;

  const refresh = () => client.invalidateQueries({ queryKey: ['ops'] });
  const run: RunVerb = async (verb, body) => {
    const { method, path } = platformRoute(tenantId, verb);
    await callPlatform(token, path, { method, ...(body ? { json: body } : {}) });
    await refresh();
  };

  return (
    <section aria-labelledby="tenant-heading" className="tenant-detail" data-testid="tenant-detail">
      <h2 id="tenant-heading" ref={heading} tabIndex={-1}>
        Tenant {tenantId}
      </h2>
      {gone && (
        <p>
          This tenant is gone (deprovisioned and removed).{' '}
          <button type="button" onClick={onGone}>
            Close
          </button>
        </p>
      )}
      {detail.isError && !gone && (
        <p className="error" role="alert">
          {detail.error.message}
        </p>
      )}
      {detail.data && (
        <>
          <dl className="facts">
            <dt>Name</dt>
            <dd>{detail.data.tenant.name}</dd>
            <dt>Plan</dt>
            <dd>{detail.data.tenant.plan}</dd>
            <dt>Owner</dt>
            <dd>{detail.data.tenant.clerkOrgId ?? detail.data.tenant.clerkUserId ?? '—'}</dd>
          </dl>
          {detail.data.fleet ? <PlatformFleet token={token} tenantId={tenantId} fleet={detail.data.fleet} run={run} /> : <p>No fleet.</p>}
        </>
      )}
    </section>
  );
}

function PlatformFleet({ token, tenantId, fleet, run }: { token: string; tenantId: string; fleet: Fleet; run: RunVerb }) {
  const client = useQueryClient();
  const [retryProblem, setRetryProblem] = useState<string | null>(null);
  const retry = async () => {
    setRetryProblem(null);
    try {
      const { method, path } = platformRoute(tenantId, 'retry');
      await callPlatform(token, path, { method });
      await client.invalidateQueries({ queryKey: ['ops'] });
    } catch (err) {
      setRetryProblem(err instanceof ApiProblem ? err.message : String(err));
    }
  };
  return (
    <>
      <StatusBadge status={fleet.status} />
      <p>
        Template <span data-testid="ops-template">{fleet.templateId}</span>; agents {fleet.agentSpecs.map((a) => a.name).join(', ')}
      </p>
      <LifecycleActions status={fleet.status} run={run} confirm={{ expected: tenantId, named: 'the tenant id' }} reasonRequired />
      <Timeline
        log={fleet.provisionLog}
        retry={
          <div className="actions">
            <button type="button" className="primary" onClick={retry}>
              Retry from this step
            </button>
            {retryProblem && (
              <p className="error" role="alert">
                {retryProblem}
              </p>
            )}
          </div>
        }
      />
    </>
  );
}
