import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

type TenantBody = { ok: true; tenant: Record<string, unknown> };
type ErrBody = { ok: false; error: { code: string; message: string; details?: { field?: string } } };

describe('POST /api/tenants — happy path', () => {
  it('creates an org tenant with a pending fleet from the default template', async () => {
    const res = await t.createTenant({ tenantId: 'acme_corp', name: 'Acme Corp', clerkOrgId: 'org_acme' });
    expect(res.status).toBe(201);
    const { tenant } = (await res.json()) as TenantBody;
    expect(tenant).toMatchObject({
      tenantId: 'acme_corp',
      name: 'Acme Corp',
      plan: 'free',
      kind: 'org',
      clerkOrgId: 'org_acme',
      clerkUserId: null,
      status: 'pending',
      templateId: 'standard-7-agent',
    });
    expect(tenant.id).toMatch(/^tnt_[0-9a-z]{16}$/);
    const fleet = await t.request('/api/fleet', { token: t.token({ userId: 'user_x', orgId: 'org_acme' }) });
    const body = (await fleet.json()) as { fleet: { agentSpecs: unknown[]; status: string } };
    expect(body.fleet.status).toBe('pending');
    expect(body.fleet.agentSpecs).toHaveLength(7);
  });

  it('creates a personal tenant with another template and plan', async () => {
    const res = await t.createTenant({ tenantId: 'bob', name: 'Bob', clerkUserId: 'user_bob', plan: 'pro', templateId: 'solo-engineer' });
    expect(res.status).toBe(201);
    expect(((await res.json()) as TenantBody).tenant).toMatchObject({ kind: 'personal', plan: 'pro', templateId: 'solo-engineer' });
  });

  it('answers the same request again with the same tenant and 200', async () => {
    const body = { tenantId: 'idem_co', name: 'Idem', clerkOrgId: 'org_idem' };
    const first = (await (await t.createTenant(body)).json()) as TenantBody;
    const again = await t.createTenant(body);
    expect(again.status).toBe(200);
    expect(((await again.json()) as TenantBody).tenant).toStrictEqual(first.tenant);
  });

  it('creates exactly one tenant when 20 identical requests race', async () => {
    const body = { tenantId: 'race_co', name: 'Race', clerkOrgId: 'org_race' };
    const results = await Promise.all(Array.from({ length: 20 }, () => t.createTenant(body)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const ids = new Set(await Promise.all(results.map(async (r) => ((await r.json()) as TenantBody).tenant.id)));
    expect(ids.size).toBe(1);
  });
});

describe('POST /api/tenants — errors', () => {
  const expectError = async (res: Response, status: number, code: string, field?: string) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as ErrBody;
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe(code);
    if (field) expect(body.error.details?.field).toBe(field);
    return body;
  };

  it.each([
    [{ name: 'No id', clerkOrgId: 'org_a1' }, 'tenantId'],
    [{ tenantId: 'Acme-Corp', name: 'x', clerkOrgId: 'org_a2' }, 'tenantId'],
    [{ tenantId: 'acme__corp', name: 'x', clerkOrgId: 'org_a3' }, 'tenantId'],
    [{ tenantId: '../etc', name: 'x', clerkOrgId: 'org_a4' }, 'tenantId'],
    [{ tenantId: 'ok_one', clerkOrgId: 'org_a5' }, 'name'],
    [{ tenantId: 'ok_two', name: '   ', clerkOrgId: 'org_a6' }, 'name'],
    [{ tenantId: 'ok_three', name: 'x', clerkOrgId: 'org_a7', plan: 'platinum' }, 'plan'],
    [{ tenantId: 'ok_four', name: 'x' }, 'clerkOrgId'],
    [{ tenantId: 'ok_five', name: 'x', clerkOrgId: 'org_a8', clerkUserId: 'user_a8' }, 'clerkUserId'],
    [{ tenantId: 'ok_six', name: 'x', clerkOrgId: 'acme' }, 'clerkOrgId'],
    [{ tenantId: 'ok_seven', name: 'x', clerkUserId: 'org_wrongkind' }, 'clerkUserId'],
    [{ tenantId: 'ok_eight', name: 'x', clerkOrgId: 'org_a9', templateId: 'no-such-template' }, 'templateId'],
    [{ tenantId: 'ok_nine', name: 'x', clerkOrgId: 'org_a10', surprise: true }, ''],
  ])('400 naming the field for %j', async (body, field) => {
    const err = await expectError(await t.createTenant(body), 400, 'invalid_input');
    if (field) {
      expect(err.error.details?.field).toBe(field);
      expect(err.error.message).toContain(field);
    }
  });

  it('400 for a body that is not JSON', async () => {
    const res = await t.request('/api/tenants', {
      method: 'POST',
      platform: true,
      headers: { 'content-type': 'application/json' },
      body: '{"tenantId": ',
    });
    await expectError(res, 400, 'invalid_input');
  });

  it('409 for an existing tenantId with a different body, and nothing stored changes', async () => {
    await t.createTenant({ tenantId: 'stable', name: 'Stable', clerkOrgId: 'org_stable' });
    const err = await expectError(
      await t.createTenant({ tenantId: 'stable', name: 'Renamed', clerkOrgId: 'org_stable' }),
      409,
      'conflict',
      'name',
    );
    expect(err.error.message).toMatch(/already exists/);
    const res = await t.request('/api/tenants/stable', { platform: true });
    expect(((await res.json()) as TenantBody).tenant.name).toBe('Stable');
  });

  it('409 for a second tenant of the same Clerk organisation or user', async () => {
    await t.createTenant({ tenantId: 'one_org', name: 'One', clerkOrgId: 'org_shared' });
    await expectError(await t.createTenant({ tenantId: 'two_org', name: 'Two', clerkOrgId: 'org_shared' }), 409, 'conflict', 'clerkOrgId');
    await t.createTenant({ tenantId: 'one_user', name: 'One', clerkUserId: 'user_shared' });
    await expectError(
      await t.createTenant({ tenantId: 'two_user', name: 'Two', clerkUserId: 'user_shared' }),
      409,
      'conflict',
      'clerkUserId',
    );
    expect((await t.request('/api/tenants/two_org', { platform: true })).status).toBe(404);
  });
});

describePlatformRouteSecurity(
  { method: 'POST', path: '/api/tenants', json: { tenantId: 'sec_co', name: 'S', clerkOrgId: 'org_sec' } },
  () => t,
);

describe('POST /api/tenants — the namespace of tenant ids', () => {
  it('a session cannot capture a platform tenant id with its organisation slug', async () => {
    // A stranger names their Clerk organisation after a customer the platform will onboard…
    const squatter = t.token({ userId: 'user_squatter', orgId: 'org_squatter', orgRole: 'admin', orgSlug: 'globex' });
    const own = await t.request('/api/fleet/provision', { method: 'POST', token: squatter, json: { templateId: 'solo-engineer' } });
    expect(own.status).toBe(202);
    // …then the platform onboards the real one under that id: it gets its own tenant…
    const res = await t.createTenant({ tenantId: 'globex', name: 'Globex', clerkOrgId: 'org_globexreal' });
    expect(res.status).toBe(201);
    // …and every platform call on 'globex' reaches the customer's tenant, never the squatter's.
    const got = (await (await t.request('/api/tenants/globex', { platform: true })).json()) as TenantBody;
    expect(got.tenant).toMatchObject({ tenantId: 'globex', clerkOrgId: 'org_globexreal', status: 'pending' });
    const list = (await (await t.request('/api/tenants?clerkOrgId=org_squatter', { platform: true })).json()) as {
      tenants: Array<{ tenantId: string }>;
    };
    expect(list.tenants).toHaveLength(1);
    expect(list.tenants[0]!.tenantId).toMatch(/^auto_globex/);
  });

  it('400 for a platform tenant id in the namespace of automatically created tenants', async () => {
    const res = await t.createTenant({ tenantId: 'auto_initech', name: 'Initech', clerkOrgId: 'org_initech' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrBody;
    expect(body.error.details?.field).toBe('tenantId');
    expect(body.error.message).toMatch(/'auto_' is reserved for tenants created at sign-in/);
  });
});
