import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useStandinApp } from '../../../test/harness/standin-app.ts';
import { SseReader } from '../../../test/harness/sse.ts';
import { waitForFleet } from '../../../test/harness/wait.ts';
import { pruneEvents } from '../../db/events.ts';

/** fleet_events is pruned after FLEET_EVENTS_RETENTION_HOURS (its own database: the horizon is global). */
const app = useStandinApp({ workers: { concurrency: 1 } });

describe('GET /api/fleet/events after pruning', () => {
  it('keeps events for the retention only; a client resuming from before the pruned part gets a snapshot, not a gap', async () => {
    const token = app().token({ userId: 'user_prune', orgId: 'org_prune', orgRole: 'admin' });
    await app().request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
    await waitForFleet(app(), token, ['active']);
    const all = await new SseReader(await app().request('/api/fleet/events', { token, headers: { 'last-event-id': '0' } })).until((e) =>
      e.some((x) => x.event === 'status' && JSON.parse(x.data).status === 'active'),
    );
    const ids = all.map((e) => Number(e.id));
    // The first half of this fleet's events is two days old.
    const old = ids.slice(0, Math.floor(ids.length / 2));
    await sql`UPDATE fleet_events SET created_at = now() - interval '2 days' WHERE id = ANY(${old})`.execute(app().database.db);
    expect(await pruneEvents(app().database.db, 24)).toBeGreaterThanOrEqual(old.length);
    const left = await app().database.db.selectFrom('fleet_events').select('id').where('id', 'in', ids).execute();
    expect(left.map((r) => r.id)).toEqual(ids.slice(old.length));

    // From inside the pruned part: the state as a snapshot first, then only what comes after it.
    const behind = new SseReader(await app().request('/api/fleet/events', { token, headers: { 'last-event-id': String(old[1]) } }));
    const [first] = await behind.until((e) => e.length >= 1);
    await behind.close();
    expect(first?.event).toBe('snapshot');
    expect(JSON.parse(first!.data).fleet).toMatchObject({ status: 'active' });
    // From after it: the plain replay, no snapshot.
    const after = new SseReader(await app().request('/api/fleet/events', { token, headers: { 'last-event-id': String(ids.at(-2)) } }));
    const [next] = await after.until((e) => e.length >= 1);
    await after.close();
    expect(next).toMatchObject({ event: 'status', id: String(ids.at(-1)) });
  });
});
