import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { SseReader } from '../../../test/harness/sse.ts';
import { recordEvent } from '../../db/events.ts';

const TENANTS = 30;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('GET /api/fleet/events, many streams', () => {
  it('reads the events that wake many streams at once in a few statements, not one per stream, and each stream gets its own', async () => {
    const tenants = await Promise.all(
      Array.from({ length: TENANTS }, async (_, i) => {
        const res = await t.createTenant({ tenantId: `fan_${i}`, name: `Fan ${i}`, clerkOrgId: `org_fan${i}` });
        expect(res.status).toBe(201);
        const { tenant } = (await res.json()) as { tenant: { id: string } };
        const token = t.token({ userId: `user_fan${i}`, orgId: `org_fan${i}`, orgRole: 'admin' });
        const stream = new SseReader(await t.request('/api/fleet/events', { token }));
        await stream.until((e) => e.length >= 1); // the snapshot
        return { id: tenant.id, stream };
      }),
    );
    await new Promise((r) => setTimeout(r, 200)); // the streams' own start-up reads are done

    // One commit, so every notification arrives at once, as a busy database delivers them.
    const before = t.routeQueries();
    await t.database.db.transaction().execute(async (trx) => {
      for (const [i, tenant] of tenants.entries()) await recordEvent(trx, tenant.id, 'log', { message: `for fan_${i}` });
    });
    for (const [i, tenant] of tenants.entries()) {
      const events = await tenant.stream.until((e) => e.some((x) => x.event === 'log'));
      expect(events.filter((x) => x.event === 'log').map((x) => JSON.parse(x.data))).toEqual([{ message: `for fan_${i}` }]);
    }
    // One statement per stream was TENANTS statements; batched, the reads share a few.
    expect(t.routeQueries() - before).toBeLessThanOrEqual(3);
    for (const tenant of tenants) await tenant.stream.close();
  });
});
