import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const getFleet = async (token: string) => {
  const res = await t.request('/api/fleet', { token });
  expect(res.status).toBe(200);
  return (await res.json()) as { ok: true; fleet: Record<string, unknown> | null };
};

describe('GET /api/fleet — the seed contract', () => {
  it('answers {"ok":true,"fleet":null} for a signed-in user with no tenant', async () => {
    const body = await getFleet(t.token({ userId: 'user_nobody' }));
    expect(body).toStrictEqual({ ok: true, fleet: null });
  });

  it("answers the seed's provisioned shape, every field present, log oldest first across runs", async () => {
    expect((await t.createTenant({ tenantId: 'seed_org', name: 'Seed', clerkOrgId: 'org_seed' })).status).toBe(201);
    const { db } = t.database;
    const fleet = await db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select(['fleets.id'])
      .where('tenants.slug', '=', 'seed_org')
      .executeTakeFirstOrThrow();
    await db
      .updateTable('fleets')
      .set({
        status: 'active',
        dashboard_url: 'https://dashboard.example.com',
        repos: JSON.stringify(['org/repo-a', 'org/repo-b']),
        machine: JSON.stringify({ driver: 'gcp', name: 'agent-fleet', zone: 'europe-west2-b', ip: '34.89.1.2' }),
        created_at: new Date('2026-03-18T09:00:00.000Z'),
        updated_at: new Date('2026-03-18T09:05:00.000Z'),
      })
      .where('id', '=', fleet.id)
      .execute();
    await sql`INSERT INTO provision_log (fleet_id, step, status, message, duration_ms, created_at) VALUES
      (${fleet.id}, 'vm_create', 'running', NULL, NULL, '2026-03-18T08:59:14.800Z'),
      (${fleet.id}, 'vm_create', 'complete', 'VM created successfully', 45200, '2026-03-18T09:00:00.000Z')`.execute(db);

    const body = await getFleet(t.token({ userId: 'user_any', orgId: 'org_seed', orgRole: 'member' }));
    expect(body.ok).toBe(true);
    expect(body.fleet).toStrictEqual({
      status: 'active',
      templateId: 'standard-7-agent',
      dashboardUrl: 'https://dashboard.example.com',
      agentSpecs: [
        { name: 'popashot', role: 'orchestrator' },
        { name: 'cantona', role: 'engineer' },
        { name: 'splinter', role: 'architect' },
        { name: 'velma', role: 'qa' },
        { name: 'tank', role: 'ops' },
        { name: 'zerocool', role: 'security' },
        { name: 'slash', role: 'design' },
      ],
      repos: ['org/repo-a', 'org/repo-b'],
      gcpResources: { vmName: 'agent-fleet', zone: 'europe-west2-b', ip: '34.89.1.2' },
      provisionLog: [
        { step: 'vm_create', status: 'running', message: null, durationMs: null, createdAt: '2026-03-18T08:59:14.800Z', runId: null },
        {
          step: 'vm_create',
          status: 'complete',
          message: 'VM created successfully',
          durationMs: 45200,
          createdAt: '2026-03-18T09:00:00.000Z',
          runId: null,
        },
      ],
      provisionLogSummary: null,
      createdAt: '2026-03-18T09:00:00.000Z',
      updatedAt: '2026-03-18T09:05:00.000Z',
    });
  });

  it('answers a pending fleet with null for every value not known yet (never a missing key)', async () => {
    await t.createTenant({ tenantId: 'pending_one', name: 'P', clerkUserId: 'user_pending' });
    const { fleet } = await getFleet(t.token({ userId: 'user_pending' }));
    expect(fleet).not.toBeNull();
    expect(Object.keys(fleet!).sort()).toEqual([
      'agentSpecs',
      'createdAt',
      'dashboardUrl',
      'gcpResources',
      'provisionLog',
      'provisionLogSummary',
      'repos',
      'status',
      'templateId',
      'updatedAt',
    ]);
    expect(fleet).toMatchObject({ status: 'pending', dashboardUrl: null, gcpResources: null, provisionLog: [] });
    expect(fleet!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('GET /api/fleet — tenant resolution', () => {
  beforeAll(async () => {
    await t.createTenant({ tenantId: 'acme', name: 'Acme', clerkOrgId: 'org_acme', templateId: 'standard-7-agent' });
    await t.createTenant({ tenantId: 'alice_personal', name: 'Alice', clerkUserId: 'user_alice', templateId: 'solo-engineer' });
  });
  const templateOf = async (token: string) => ((await getFleet(token)).fleet as { templateId: string } | null)?.templateId ?? null;

  it("gives an org session the org's tenant", async () => {
    expect(await templateOf(t.token({ userId: 'user_bob', orgId: 'org_acme', orgRole: 'member' }))).toBe('standard-7-agent');
  });
  it("gives a session without an org the user's personal tenant", async () => {
    expect(await templateOf(t.token({ userId: 'user_alice' }))).toBe('solo-engineer');
  });
  it('gives a user with both the one of the active context', async () => {
    expect(await templateOf(t.token({ userId: 'user_alice', orgId: 'org_acme', orgRole: 'admin' }))).toBe('standard-7-agent');
    expect(await templateOf(t.token({ userId: 'user_alice' }))).toBe('solo-engineer');
  });
  it('gives null, not the personal fleet, in an org that has no tenant', async () => {
    expect(await templateOf(t.token({ userId: 'user_alice', orgId: 'org_emptyco', orgRole: 'admin' }))).toBeNull();
  });
  it('gives null to a user with no tenant at all', async () => {
    expect(await templateOf(t.token({ userId: 'user_zed' }))).toBeNull();
  });
  it('reads v1 session tokens (org_id / org_role claims) the same way', async () => {
    const v1 = t.token({ userId: 'user_carol', claims: { v: undefined, org_id: 'org_acme', org_role: 'org:member', org_slug: 'acme' } });
    expect(await templateOf(v1)).toBe('standard-7-agent');
  });
});

describeSessionRouteSecurity({ method: 'GET', path: '/api/fleet' }, () => t, {
  otherTenant: async (app) => {
    await app.createTenant({ tenantId: 'secret_co', name: 'Secret', clerkOrgId: 'org_secret' });
    // Nothing in the request can name a tenant: the caller only ever gets their own.
    for (const token of [
      app.token({ userId: 'user_mallory' }),
      app.token({ userId: 'user_mallory', orgId: 'org_mallory', orgRole: 'admin' }),
    ]) {
      const res = await app.request('/api/fleet?tenantId=secret_co&orgId=org_secret', {
        token,
        headers: { 'x-tenant-id': 'secret_co', 'x-org-id': 'org_secret' },
      });
      expect(await res.json()).toStrictEqual({ ok: true, fleet: null });
    }
  },
});

describe('GET /api/fleet — cached reads stay correct', () => {
  it('sees a change written by another process (through its event) right after it commits', async () => {
    const { applyTransition } = await import('../../db/fleet-transition.ts');
    await t.createTenant({ tenantId: 'cache_co', name: 'Cache', clerkOrgId: 'org_cache' });
    const token = t.token({ userId: 'user_c', orgId: 'org_cache' });
    const status = async () => ((await getFleet(token)).fleet as { status: string }).status;
    expect(await status()).toBe('pending');
    expect(await status()).toBe('pending'); // now served from the cache
    const fleet = await t.database.db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select('fleets.id')
      .where('tenants.slug', '=', 'cache_co')
      .executeTakeFirstOrThrow();
    // As a worker elsewhere would: a transition in its own transaction, on its own connection.
    await t.database.db.transaction().execute((trx) => applyTransition(trx, fleet.id, 'provision'));
    const until = Date.now() + 2000;
    let seen = await status();
    while (seen !== 'provisioning' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 5));
      seen = await status();
    }
    expect(seen).toBe('provisioning');
  });
});
