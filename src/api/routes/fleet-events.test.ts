import { beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../../test/harness/app.ts';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { SseReader } from '../../../test/harness/sse.ts';
import { waitForFleet } from '../../../test/harness/wait.ts';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';

const app = useStandinApp({ workers: { concurrency: 1 } });
let t: TestApp;
beforeAll(() => {
  t = app();
});

describe('GET /api/fleet/events', () => {
  it('streams a snapshot, then status and log events live; Last-Event-ID replays what was missed', async () => {
    const token = t.token({ userId: 'user_sse', orgId: 'org_sse', orgRole: 'admin' });
    const stream = new SseReader(await t.request('/api/fleet/events', { token }));
    const [snapshot] = await stream.until((e) => e.length >= 1);
    expect(snapshot).toMatchObject({ event: 'snapshot' });
    expect(JSON.parse(snapshot!.data)).toEqual({ fleet: null });

    await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    const events = await stream.until((e) => e.some((x) => x.event === 'status' && JSON.parse(x.data).status === 'active'), 30_000);
    await stream.close();

    const statuses = events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status);
    expect(statuses).toEqual(['pending', 'provisioning', 'active']);
    const logs = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data));
    expect(logs.filter((l) => l.status === 'complete').map((l) => l.step)).toEqual([
      'vm_create',
      'workspace_bootstrap',
      'agent_config',
      'gateway_start',
      'connectivity_check',
      'complete',
    ]);
    const ids = events.slice(1).map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    // Reconnect from the middle: exactly the events after that id, no snapshot.
    const middle = events[Math.floor(events.length / 2)]!;
    const resumed = new SseReader(await t.request('/api/fleet/events', { token, headers: { 'last-event-id': middle.id! } }));
    const replay = await resumed.until((e) => e.length >= events.length - events.indexOf(middle) - 1);
    await resumed.close();
    expect(replay.map((e) => e.id)).toEqual(events.slice(events.indexOf(middle) + 1).map((e) => e.id));
    expect(replay.some((e) => e.event === 'snapshot')).toBe(false);
    await waitForFleet(t, token, ['active']);
  });

  it("never streams another tenant's events, to a caller that has a fleet of its own", async () => {
    // The listener's tenant exists (a pending fleet), so the stream's tenant filter is what keeps
    // the other tenant's run out; its own provision afterwards is the barrier that proves delivery.
    expect((await t.createTenant({ tenantId: 'quiet_co', name: 'Quiet', clerkOrgId: 'org_quiet' })).status).toBe(201);
    const mine = t.token({ userId: 'user_quiet', orgId: 'org_quiet', orgRole: 'admin' });
    const stream = new SseReader(await t.request('/api/fleet/events', { token: mine }));
    const [snapshot] = await stream.until((e) => e.length >= 1);
    expect(JSON.parse(snapshot!.data).fleet).toMatchObject({ status: 'pending' });

    const other = t.token({ userId: 'user_loud', orgId: 'org_loud', orgRole: 'admin' });
    await t.request('/api/fleet/provision', { method: 'POST', token: other, json: { templateId: 'solo-engineer' } });
    await waitForFleet(t, other, ['active']);

    const res = await t.request('/api/fleet/provision', { method: 'POST', token: mine, json: { templateId: 'solo-engineer' } });
    const { runId } = (await res.json()) as { runId: string };
    const events = await stream.until((e) => e.some((x) => x.event === 'status' && JSON.parse(x.data).status === 'active'), 30_000);
    await stream.close();
    const live = events.slice(1);
    // The first live event is the listener's own: nothing of the other run came before it.
    expect(live[0]).toMatchObject({ event: 'status' });
    expect(JSON.parse(live[0]!.data)).toMatchObject({ status: 'provisioning', from: 'pending' });
    expect(live.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data).status)).toEqual(['provisioning', 'active']);
    const logs = live.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as { runId: string });
    expect(logs.length).toBeGreaterThanOrEqual(12);
    expect(new Set(logs.map((l) => l.runId))).toEqual(new Set([runId]));

    // A replay from the very beginning reads over the other tenant's older rows: exactly this
    // tenant's events come back, the same ids the database holds for it.
    const own = await t.database.db
      .selectFrom('fleet_events')
      .select('id')
      .where('tenant_id', 'in', t.database.db.selectFrom('tenants').select('id').where('slug', '=', 'quiet_co'))
      .orderBy('id')
      .execute();
    const replay = new SseReader(await t.request('/api/fleet/events', { token: mine, headers: { 'last-event-id': '0' } }));
    const replayed = await replay.until((e) => e.length >= own.length);
    await replay.close();
    expect(replayed.map((e) => Number(e.id))).toEqual(own.map((r) => r.id));
  });

  it('holds at most FLEET_MAX_STREAMS_PER_USER (10) streams per user: the 11th gets 429; a stream that ends frees its slot', async () => {
    const token = t.token({ userId: 'user_many' });
    const open = async () => {
      const res = await t.request('/api/fleet/events', { token });
      expect(res.status).toBe(200);
      const stream = new SseReader(res);
      await stream.until((e) => e.length >= 1);
      return stream;
    };
    // Clients that leave at once, before reading a byte, must not keep their slot.
    for (let i = 0; i < 15; i++) await (await t.request('/api/fleet/events', { token })).body?.cancel();
    const streams = [];
    for (let i = 0; i < 10; i++) streams.push(await open());

    const refused = await t.request('/api/fleet/events', { token });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    const body = (await refused.json()) as { ok: boolean; error: { code: string; message: string } };
    expect(body).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect(body.error.message).toMatch(/10 event streams .* Close one/);
    // Another user is not affected.
    const other = await t.request('/api/fleet/events', { token: t.token({ userId: 'user_few' }) });
    expect(other.status).toBe(200);
    await other.body?.cancel();

    await streams.pop()!.close();
    const deadline = Date.now() + 2000;
    let again = await t.request('/api/fleet/events', { token });
    while (again.status === 429 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      again = await t.request('/api/fleet/events', { token });
    }
    expect(again.status).toBe(200);
    streams.push(new SseReader(again));
    expect((await t.request('/api/fleet/events', { token })).status).toBe(429);
    for (const s of streams) await s.close();
  });

  it("costs a tenant-less stream no query for other tenants' events; it wakes when its own tenant appears", async () => {
    const lonely = t.token({ userId: 'user_lonely' });
    const streams = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const s = new SseReader(await t.request('/api/fleet/events', { token: lonely }));
        await s.until((e) => e.length >= 1);
        return s;
      }),
    );
    await new Promise((r) => setTimeout(r, 200)); // the streams' own start-up reads are done

    const busy = t.token({ userId: 'user_busy', orgId: 'org_busy', orgRole: 'admin' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token: busy, json: { templateId: 'solo-engineer' } })).status).toBe(
      202,
    );
    const before = t.routeQueries();
    await waitForFleet(t, busy, ['active']);
    await new Promise((r) => setTimeout(r, 200)); // deliveries of the last events
    // GET /api/fleet answers from the cache (not counted): every query here would be a stream's.
    expect(t.routeQueries() - before).toBe(0);

    // The stream's own tenant appearing wakes every one of them, with its first event.
    expect((await t.createTenant({ tenantId: 'lonely_co', name: 'Lonely', clerkUserId: 'user_lonely' })).status).toBe(201);
    for (const s of streams) {
      const events = await s.until((e) => e.some((x) => x.event === 'status'));
      expect(JSON.parse(events.find((x) => x.event === 'status')!.data)).toMatchObject({ status: 'pending' });
      await s.close();
    }
  });

  it('closes a stream when its session token expires; a fresh token with Last-Event-ID gets what was missed', async () => {
    const brief = t.token({ userId: 'user_brief', ttlSeconds: 3 });
    const expMs = (JSON.parse(Buffer.from(brief.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    const stream = new SseReader(await t.request('/api/fleet/events', { token: brief }));
    const [snapshot] = await stream.until((e) => e.length >= 1);
    const events = await stream.ended(15_000);
    const endedAt = Date.now();
    expect(endedAt).toBeGreaterThanOrEqual(expMs - 100);
    expect(endedAt).toBeLessThanOrEqual(expMs + 5000);
    expect(events.at(-1)).toMatchObject({ event: 'session-expired' });

    // Something happens while the client is away; it comes back with a new token and its last id.
    expect((await t.createTenant({ tenantId: 'brief_co', name: 'Brief', clerkUserId: 'user_brief' })).status).toBe(201);
    const fresh = t.token({ userId: 'user_brief' });
    const resumed = new SseReader(await t.request('/api/fleet/events', { token: fresh, headers: { 'last-event-id': snapshot!.id! } }));
    const missed = await resumed.until((e) => e.length >= 1);
    await resumed.close();
    expect(missed[0]).toMatchObject({ event: 'status' });
    expect(JSON.parse(missed[0]!.data)).toMatchObject({ status: 'pending' });
  });

  it('400 for a malformed Last-Event-ID', async () => {
    const res = await t.request('/api/fleet/events', { token: t.token({ userId: 'user_sse' }), headers: { 'last-event-id': 'abc' } });
    expect(res.status).toBe(400);
  });
});

describeSessionRouteSecurity({ method: 'GET', path: '/api/fleet/events' }, app);
