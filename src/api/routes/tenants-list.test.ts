import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describePlatformRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  for (let i = 0; i < 7; i++) {
    const res = await t.createTenant({
      tenantId: `org_tenant_${i}`,
      name: `Org ${i}`,
      clerkOrgId: `org_n${i}`,
      plan: i % 2 ? 'pro' : 'free',
    });
    expect(res.status).toBe(201);
  }
  await t.createTenant({ tenantId: 'solo', name: 'Solo', clerkUserId: 'user_solo', plan: 'team' });
  await t.database.db
    .updateTable('fleets')
    .set({ status: 'active' })
    .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', 'in', ['org_tenant_1', 'solo']))
    .execute();
});
afterAll(() => t.close());

type Page = { ok: true; tenants: Array<{ tenantId: string; plan: string; status: string }>; nextCursor: string | null };
const list = async (query: string) => {
  const res = await t.request(`/api/tenants${query}`, { platform: true });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
};

describe('GET /api/tenants', () => {
  it('lists every tenant oldest first', async () => {
    const page = await list('');
    expect(page.tenants.map((x) => x.tenantId)).toEqual([...Array.from({ length: 7 }, (_, i) => `org_tenant_${i}`), 'solo']);
    expect(page.nextCursor).toBeNull();
  });
  it('filters by status, plan and clerkOrgId', async () => {
    expect((await list('?status=active')).tenants.map((x) => x.tenantId)).toEqual(['org_tenant_1', 'solo']);
    expect((await list('?plan=pro')).tenants.map((x) => x.tenantId)).toEqual(['org_tenant_1', 'org_tenant_3', 'org_tenant_5']);
    expect((await list('?clerkOrgId=org_n4')).tenants.map((x) => x.tenantId)).toEqual(['org_tenant_4']);
    expect((await list('?plan=pro&status=pending')).tenants.map((x) => x.tenantId)).toEqual(['org_tenant_3', 'org_tenant_5']);
  });
  it("filters by the fleet's template", async () => {
    await t.database.db
      .updateTable('fleets')
      .set({ template_id: 'solo-engineer' })
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'org_tenant_2'))
      .execute();
    try {
      const page = await list('?templateId=solo-engineer');
      expect(page.tenants.map((x) => x.tenantId)).toEqual(['org_tenant_2']);
      expect((await list('?templateId=solo-engineer&plan=pro')).tenants).toEqual([]);
    } finally {
      await t.database.db
        .updateTable('fleets')
        .set({ template_id: 'standard-7-agent' })
        .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'org_tenant_2'))
        .execute();
    }
  });
  it('walks cursor pages without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.tenants.map((x) => x.tenantId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual((await list('')).tenants.map((x) => x.tenantId));
  });
  it('400 for a bad filter, limit or cursor, naming it', async () => {
    for (const [q, field] of [
      ['?status=running', 'status'],
      ['?plan=gold', 'plan'],
      ['?limit=0', 'limit'],
      ['?limit=abc', 'limit'],
      ['?cursor=garbage', 'cursor'],
    ] as const) {
      const res = await t.request(`/api/tenants${q}`, { platform: true });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { details: { field: string } } }).error.details.field).toBe(field);
    }
  });
});

describePlatformRouteSecurity({ method: 'GET', path: '/api/tenants' }, () => t);
