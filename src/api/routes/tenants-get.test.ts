import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  expect((await t.createTenant({ tenantId: 'solo', name: 'Solo', clerkUserId: 'user_solo', plan: 'team' })).status).toBe(201);
  await t.database.db
    .updateTable('fleets')
    .set({ status: 'active' })
    .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'solo'))
    .execute();
});
afterAll(() => t.close());

describe('GET /api/tenants/{tenantId}', () => {
  it('shows one tenant by tenantId or id, with its fleet', async () => {
    const res = await t.request('/api/tenants/solo', { platform: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { tenant: { id: string; tenantId: string }; fleet: { status: string; agentSpecs: unknown[] } };
    expect(body.tenant.tenantId).toBe('solo');
    expect(body.fleet.status).toBe('active');
    const byId = await t.request(`/api/tenants/${body.tenant.id}`, { platform: true });
    expect(((await byId.json()) as { tenant: { tenantId: string } }).tenant.tenantId).toBe('solo');
  });
  it('404 for an unknown tenant', async () => {
    const res = await t.request('/api/tenants/nobody_here', { platform: true });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describePlatformRouteSecurity({ method: 'GET', path: '/api/tenants/solo' }, () => t);
