import { describe, expect, it } from 'vitest';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';

/** POST /api/fleet/retry at the HTTP edge; retries that resume runs are in test/pipeline/faults.e2e.test.ts. */
const app = useStandinApp({});

describe('POST /api/fleet/retry', () => {
  it('404 saying what to do when the caller has no fleet yet', async () => {
    const t = app();
    const res = await t.request('/api/fleet/retry', { method: 'POST', token: t.token({ userId: 'user_nobody' }) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe('There is no fleet to retry: provision one first.');
  });

  it("409 outside 'error', naming the status and what it allows", async () => {
    const t = app();
    expect((await t.createTenant({ tenantId: 'retry_pending', name: 'Pending', clerkOrgId: 'org_retrypending' })).status).toBe(201);
    const token = t.token({ userId: 'user_a', orgId: 'org_retrypending', orgRole: 'admin' });
    const res = await t.request('/api/fleet/retry', { method: 'POST', token });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      'Cannot retry: fleet is pending; allowed: provision, deprovision.',
    );
  });
});

describeSessionRouteSecurity({ method: 'POST', path: '/api/fleet/retry' }, app, {
  otherTenant: async (t) => {
    // Nothing in the request names a tenant: a stranger retries nothing of anyone else's.
    expect((await t.createTenant({ tenantId: 'retry_victim', name: 'Victim', clerkOrgId: 'org_retryvictim' })).status).toBe(201);
    const before = await (await t.request('/api/tenants/retry_victim', { platform: true })).json();
    const res = await t.request('/api/fleet/retry?tenantId=retry_victim', {
      method: 'POST',
      token: t.token({ userId: 'user_y', orgId: 'org_stranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(await (await t.request('/api/tenants/retry_victim', { platform: true })).json()).toEqual(before);
  },
  forbidden: async (t) => {
    expect((await t.createTenant({ tenantId: 'retry_org', name: 'Org', clerkOrgId: 'org_retryorg' })).status).toBe(201);
    const res = await t.request('/api/fleet/retry', {
      method: 'POST',
      token: t.token({ userId: 'user_m', orgId: 'org_retryorg', orgRole: 'member' }),
    });
    expect(res.status).toBe(403);
  },
});
