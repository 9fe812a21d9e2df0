import { beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../harness/app.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { SseReader } from '../harness/sse.ts';
import { waitForFleet } from '../harness/wait.ts';

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

  it("never streams another tenant's events", async () => {
    const mine = t.token({ userId: 'user_quiet', orgId: 'org_quiet', orgRole: 'admin' });
    const stream = new SseReader(await t.request('/api/fleet/events', { token: mine, headers: { 'last-event-id': '0' } }));
    const other = t.token({ userId: 'user_loud', orgId: 'org_loud', orgRole: 'admin' });
    await t.request('/api/fleet/provision', { method: 'POST', token: other, json: { templateId: 'solo-engineer' } });
    await waitForFleet(t, other, ['active']);
    await expect(stream.until((e) => e.length > 0, 1500)).rejects.toThrow(/not met/);
    await stream.close();
  });

  it('400 for a malformed Last-Event-ID', async () => {
    const res = await t.request('/api/fleet/events', { token: t.token({ userId: 'user_sse' }), headers: { 'last-event-id': 'abc' } });
    expect(res.status).toBe(400);
  });
});
