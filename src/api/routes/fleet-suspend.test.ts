import { describe, expect, it } from 'vitest';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { type ErrorBody, orgTenantWithFleet, platformView } from '../../../test/harness/tenant-fixtures.ts';

/** POST /api/fleet/suspend and /resume at the HTTP edge (no workers: runs stay queued); runs to the end in test/pipeline/lifecycle.e2e.test.ts. */
const app = useStandinApp({});

describe('POST /api/fleet/suspend', () => {
  it('202 with the queued suspend run; the same request again answers that run; resume meanwhile is a 409 naming it', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'sus_ok', 'active');
    const res = await t.request('/api/fleet/suspend', { method: 'POST', token: admin, json: { reason: 'quiet month' } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; kind: string; started: boolean; fleet: { status: string } };
    // The status moves when the run ends; the intent is recorded now.
    expect(body).toMatchObject({ ok: true, kind: 'suspend', started: true, fleet: { status: 'active' } });
    const row = await t.database.db
      .selectFrom('fleets')
      .select(['desired_state', 'suspended_by', 'suspend_reason'])
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'sus_ok'))
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ desired_state: 'suspended', suspended_by: 'user:user_susok', suspend_reason: 'quiet month' });
    const audit = await t.database.db.selectFrom('audit_log').select(['action', 'detail']).where('tenant_slug', '=', 'sus_ok').execute();
    expect(audit.map((a) => a.action)).toEqual(['tenant.create', 'fleet.suspend']);

    const again = (await (await t.request('/api/fleet/suspend', { method: 'POST', token: admin })).json()) as {
      runId: string;
      started: boolean;
    };
    expect(again).toMatchObject({ runId: body.runId, started: false });
    const resume = await t.request('/api/fleet/resume', { method: 'POST', token: admin });
    expect(resume.status).toBe(409);
    expect(((await resume.json()) as ErrorBody).error.message).toBe(
      `Cannot resume: fleet is active and its suspend run ${body.runId} is queued; wait for it to end.`,
    );
  });

  it('409 from pending naming what pending allows; 400 for a reason that is too long; 404 without a fleet', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'sus_pending');
    const res = await t.request('/api/fleet/suspend', { method: 'POST', token: admin });
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorBody).error).toEqual(
      expect.objectContaining({
        code: 'illegal_transition',
        message: 'Cannot suspend: fleet is pending; allowed: provision, deprovision.',
      }),
    );
    const long = await t.request('/api/fleet/suspend', { method: 'POST', token: admin, json: { reason: 'x'.repeat(201) } });
    expect(long.status).toBe(400);
    expect(((await long.json()) as ErrorBody).error.message).toMatch(/^reason: /);
    const none = await t.request('/api/fleet/suspend', { method: 'POST', token: t.token({ userId: 'user_nofleet' }) });
    expect(none.status).toBe(404);
    expect(((await none.json()) as ErrorBody).error.message).toBe('There is no fleet to suspend: provision one first.');
  });
});

describe('POST /api/fleet/resume', () => {
  it('403 on a platform suspension, naming its reason; 202 on the tenant’s own', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'res_plat', 'active');
    expect(
      (await t.request('/api/tenants/res_plat/suspend', { method: 'POST', platform: true, json: { reason: 'abuse report' } })).status,
    ).toBe(202);
    // What the suspend run does when it ends (no workers here).
    await t.database.db.updateTable('provision_runs').set({ status: 'complete' }).execute();
    await t.database.db.updateTable('fleets').set({ status: 'suspended' }).execute();
    const res = await t.request('/api/fleet/resume', { method: 'POST', token: admin });
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.message).toBe(
      'This fleet was suspended by the platform (abuse report); only the platform can resume it. Contact support.',
    );
    await t.database.db.updateTable('fleets').set({ suspended_by: 'user:user_resplat' }).execute();
    expect((await t.request('/api/fleet/resume', { method: 'POST', token: admin })).status).toBe(202);
  });
});

for (const path of ['/api/fleet/suspend', '/api/fleet/resume']) {
  describeSessionRouteSecurity({ method: 'POST', path }, app, {
    otherTenant: async (t) => {
      const slug = `victim_${path.endsWith('suspend') ? 's' : 'r'}`;
      await orgTenantWithFleet(t, slug, path.endsWith('suspend') ? 'active' : 'suspended');
      const before = await platformView(t, slug);
      const res = await t.request(`${path}?tenantId=${slug}`, {
        method: 'POST',
        token: t.token({ userId: 'user_stranger', orgId: 'org_stranger_s', orgRole: 'admin' }),
      });
      expect(res.status).toBe(404);
      expect(await platformView(t, slug)).toEqual(before);
    },
    forbidden: async (t) => {
      const slug = `members_${path.endsWith('suspend') ? 's' : 'r'}`;
      const { orgId } = await orgTenantWithFleet(t, slug, 'active');
      const res = await t.request(path, { method: 'POST', token: t.token({ userId: 'user_m', orgId, orgRole: 'member' }) });
      expect(res.status).toBe(403);
    },
  });
}
