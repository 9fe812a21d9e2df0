import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  expect((await t.createTenant({ tenantId: 'solo', name: 'Solo', clerkUserId: 'user_solo' })).status).toBe(201);
  for (const i of [0, 2]) {
    expect((await t.createTenant({ tenantId: `org_tenant_${i}`, name: `Org ${i}`, clerkOrgId: `org_n${i}` })).status).toBe(201);
  }
});
afterAll(() => t.close());

describePlatformRouteSecurity({ method: 'POST', path: '/api/tenants/solo/provision', json: {} }, () => t);
describePlatformRouteSecurity({ method: 'POST', path: '/api/tenants/solo/retry' }, () => t);

describe('POST /api/tenants/{tenantId}/provision and /retry', () => {
  it('404 for an unknown tenant; 409 to retry a fleet that is not in error', async () => {
    expect((await t.request('/api/tenants/ghost/provision', { method: 'POST', platform: true, json: {} })).status).toBe(404);
    const res = await t.request('/api/tenants/org_tenant_0/retry', { method: 'POST', platform: true });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'illegal_transition',
      message: 'Cannot retry: fleet is pending; allowed: provision, deprovision.',
    });
  });

  it('starts a run for a pending tenant (no worker here, so it stays queued) and answers the same run again', async () => {
    const first = await t.request('/api/tenants/org_tenant_2/provision', { method: 'POST', platform: true, json: { repos: ['acme/api'] } });
    expect(first.status).toBe(202);
    const a = (await first.json()) as { runId: string; started: boolean; fleet: { status: string; repos: string[] } };
    expect(a).toMatchObject({ started: true, fleet: { status: 'provisioning', repos: ['acme/api'] } });
    const again = (await (await t.request('/api/tenants/org_tenant_2/provision', { method: 'POST', platform: true })).json()) as {
      runId: string;
      started: boolean;
    };
    expect(again).toMatchObject({ runId: a.runId, started: false });
  });
});
