import { describe, expect, it } from 'vitest';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { orgTenantWithFleet } from '../../../test/harness/tenant-fixtures.ts';

/** GET /api/fleet/audit: who did what to the caller's tenant (org admins only), in pages. */
const app = useStandinApp({});
type AuditBody = { entries: Array<{ id: number; actor: string; action: string; detail: Record<string, unknown> }>; next: number | null };

describe('GET /api/fleet/audit', () => {
  it("lists the tenant's own entries oldest first, in pages", async () => {
    const t = app();
    const { admin } = await orgTenantWithFleet(t, 'aud_own', 'active');
    await orgTenantWithFleet(t, 'aud_other', 'active');
    expect((await t.request('/api/fleet/suspend', { method: 'POST', token: admin, json: { reason: 'r' } })).status).toBe(202);
    const all = (await (await t.request('/api/fleet/audit', { token: admin })).json()) as AuditBody;
    expect(all.entries.map((e) => [e.actor, e.action])).toEqual([
      ['platform', 'tenant.create'],
      ['user:user_audown', 'fleet.suspend'],
    ]);
    expect(all.entries[1]!.detail).toMatchObject({ reason: 'r', runId: expect.stringMatching(/^run_/) });
    const first = (await (await t.request('/api/fleet/audit?limit=1', { token: admin })).json()) as AuditBody;
    expect(first.entries).toHaveLength(1);
    const second = (await (await t.request(`/api/fleet/audit?limit=1&after=${first.next}`, { token: admin })).json()) as AuditBody;
    expect(second.entries.map((e) => e.action)).toEqual(['fleet.suspend']);
    expect((await t.request('/api/fleet/audit?limit=0', { token: admin })).status).toBe(400);
  });
});

describeSessionRouteSecurity({ method: 'GET', path: '/api/fleet/audit' }, app, {
  otherTenant: async (t) => {
    await orgTenantWithFleet(t, 'aud_victim');
    const res = await t.request('/api/fleet/audit?tenantId=aud_victim', {
      token: t.token({ userId: 'user_q', orgId: 'org_aud_stranger', orgRole: 'admin' }),
    });
    expect(res.status).toBe(404);
    expect(JSON.stringify(await res.json())).not.toContain('aud_victim');
  },
  forbidden: async (t) => {
    const { orgId } = await orgTenantWithFleet(t, 'aud_members');
    const res = await t.request('/api/fleet/audit', { token: t.token({ userId: 'user_m', orgId, orgRole: 'member' }) });
    expect(res.status).toBe(403);
    // A read: the answer says who may read it, not who may change the fleet.
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /^Only organisation admins can read the fleet's audit log; your role in \S+ is org:member\.$/,
    );
  },
});
