import { describe, expect, it } from 'vitest';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { type ErrorBody, orgTenantWithFleet, platformView } from '../../../test/harness/tenant-fixtures.ts';

/** DELETE /api/fleet at the HTTP edge (no workers); the run to its proof is in test/pipeline/lifecycle.e2e.test.ts. */
const app = useStandinApp({});

describe('DELETE /api/fleet', () => {
  it('202 with the deprovision run from pending; while it is queued, other verbs are 409s naming it', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'dep_pending');
    const res = await t.request('/api/fleet', { method: 'DELETE', token: admin });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { runId: string; kind: string; started: boolean };
    expect(body).toMatchObject({ kind: 'deprovision', started: true });
    const provision = await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: {} });
    expect(provision.status).toBe(409);
    expect(((await provision.json()) as ErrorBody).error.message).toBe(
      `Cannot provision: fleet is pending and its deprovision run ${body.runId} is queued; wait for it to end.`,
    );
    const again = (await (await t.request('/api/fleet', { method: 'DELETE', token: admin })).json()) as { runId: string; started: boolean };
    expect(again).toMatchObject({ runId: body.runId, started: false });
    const row = await t.database.db.selectFrom('fleets').select('desired_state').executeTakeFirstOrThrow();
    expect(row.desired_state).toBe('deleted');
  });

  it('409 while provisioning, naming the run and that it can be cancelled', async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'dep_prov');
    const started = (await (await t.request('/api/fleet/provision', { method: 'POST', token: admin, json: {} })).json()) as {
      runId: string;
    };
    const res = await t.request('/api/fleet', { method: 'DELETE', token: admin });
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorBody).error.message).toBe(
      `Cannot deprovision: fleet is provisioning and its provision run ${started.runId} is queued; wait for it to end, or cancel it.`,
    );
  });

  it('404 without a fleet', async () => {
    const res = await app().request('/api/fleet', { method: 'DELETE', token: app().token({ userId: 'user_nothing' }) });
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.message).toBe('There is no fleet to deprovision.');
  });
});

describeSessionRouteSecurity({ method: 'DELETE', path: '/api/fleet' }, app, {
  otherTenant: async (t) => {
    await orgTenantWithFleet(t, 'dep_victim', 'active');
    const before = await platformView(t, 'dep_victim');
    const res = await t.request('/api/fleet?tenantId=dep_victim', {
      method: 'DELETE',
      token: t.token({ userId: 'user_y', orgId: 'org_dep_stranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(404);
    expect(await platformView(t, 'dep_victim')).toEqual(before);
    const victimRuns = await t.database.db
      .selectFrom('provision_runs')
      .innerJoin('fleets', 'fleets.id', 'provision_runs.fleet_id')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select('provision_runs.id')
      .where('tenants.slug', '=', 'dep_victim')
      .execute();
    expect(victimRuns).toEqual([]);
  },
  forbidden: async (t) => {
    const { orgId } = await orgTenantWithFleet(t, 'dep_members', 'active');
    const res = await t.request('/api/fleet', { method: 'DELETE', token: t.token({ userId: 'user_m', orgId, orgRole: 'member' }) });
    expect(res.status).toBe(403);
  },
});
