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

  it('400 for a malformed Last-Event-ID', async () => {
    const res = await t.request('/api/fleet/events', { token: t.token({ userId: 'user_sse' }), headers: { 'last-event-id': 'abc' } });
    expect(res.status).toBe(400);
  });
});

describeSessionRouteSecurity({ method: 'GET', path: '/api/fleet/events' }, app);
