import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity } from '../../../test/harness/security.ts';
import { type ErrorBody, orgTenantWithFleet } from '../../../test/harness/tenant-fixtures.ts';

/** The platform's suspend, resume, cancel, delete and audit routes at the HTTP edge (no workers). */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  await orgTenantWithFleet(t, 'plat_sec', 'active');
});
afterAll(() => t.close());

describePlatformRouteSecurity({ method: 'POST', path: '/api/tenants/plat_sec/suspend', json: { reason: 'billing' } }, () => t);
describePlatformRouteSecurity({ method: 'POST', path: '/api/tenants/plat_sec/resume' }, () => t);
describePlatformRouteSecurity({ method: 'POST', path: '/api/tenants/plat_sec/cancel' }, () => t);
describePlatformRouteSecurity({ method: 'DELETE', path: '/api/tenants/plat_sec' }, () => t);
describePlatformRouteSecurity({ method: 'GET', path: '/api/tenants/plat_sec/audit' }, () => t);

describe('platform lifecycle routes', () => {
  it('suspend needs a reason (400) and names an existing tenant (404)', async () => {
    const none = await t.request('/api/tenants/plat_sec/suspend', { method: 'POST', platform: true, json: {} });
    expect(none.status).toBe(400);
    expect(((await none.json()) as ErrorBody).error.message).toMatch(/^reason: /);
    expect((await t.request('/api/tenants/ghost/suspend', { method: 'POST', platform: true, json: { reason: 'x' } })).status).toBe(404);
    expect((await t.request('/api/tenants/ghost/resume', { method: 'POST', platform: true })).status).toBe(404);
    expect((await t.request('/api/tenants/ghost', { method: 'DELETE', platform: true })).status).toBe(404);
  });

  it('resume and cancel refuse what the status does not allow, naming it', async () => {
    await orgTenantWithFleet(t, 'plat_pending');
    const resume = await t.request('/api/tenants/plat_pending/resume', { method: 'POST', platform: true });
    expect(resume.status).toBe(409);
    expect(((await resume.json()) as ErrorBody).error.message).toBe('Cannot resume: fleet is pending; allowed: provision, deprovision.');
    const cancel = await t.request('/api/tenants/plat_pending/cancel', { method: 'POST', platform: true });
    expect(cancel.status).toBe(409);
  });

  it('DELETE of a tenant whose fleet is already gone removes the tenant at once; its audit stays readable by slug', async () => {
    await orgTenantWithFleet(t, 'plat_gone');
    await t.database.db
      .deleteFrom('fleets')
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'plat_gone'))
      .execute();
    const res = await t.request('/api/tenants/plat_gone', { method: 'DELETE', platform: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, removed: 'tenant' });
    expect((await t.request('/api/tenants/plat_gone', { platform: true })).status).toBe(404);
    const audit = (await (await t.request('/api/tenants/plat_gone/audit', { platform: true })).json()) as {
      entries: Array<{ action: string }>;
    };
    expect(audit.entries.map((e) => e.action)).toEqual(['tenant.create', 'tenant.delete']);
  });
});
