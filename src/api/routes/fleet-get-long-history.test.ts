import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { PROVISION_STEPS } from '../../domain/steps.ts';

/**
 * A fleet provisioned a thousand times: GET /api/fleet shows its newest runs whole and only each
 * step's latest entry from before them, and says how much it left out; the payload stays bounded.
 */
const RUNS = 1000;
const WHOLE_RUNS = 3;
let t: TestApp;
let fleetId: string;
beforeAll(async () => {
  t = await createTestApp({ env: { FLEET_LOG_WHOLE_RUNS: String(WHOLE_RUNS) } });
  expect((await t.createTenant({ tenantId: 'long_history', name: 'L', clerkOrgId: 'org_long' })).status).toBe(201);
  const { db } = t.database;
  fleetId = (
    await db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select('fleets.id')
      .where('tenants.slug', '=', 'long_history')
      .executeTakeFirstOrThrow()
  ).id;
  // RUNS finished runs, one a minute, each with a running and a complete entry per step; the
  // oldest run alone ran `gateway_stop`, so only its entry can show that step.
  await sql`
    INSERT INTO provision_runs (id, fleet_id, kind, status, created_at, finished_at)
    SELECT 'run_h' || lpad(i::text, 4, '0'), ${fleetId}, 'provision', 'complete',
      now() - make_interval(mins => ${RUNS} - i), now() - make_interval(mins => ${RUNS} - i)
    FROM generate_series(1, ${RUNS}) i`.execute(db);
  await sql`
    INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms, created_at)
    VALUES (${fleetId}, 'run_h0001', 'gateway_stop', 'complete', 'long ago', 1, now() - make_interval(mins => ${RUNS}))`.execute(db);
  await sql`
    INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms, created_at)
    SELECT ${fleetId}, 'run_h' || lpad(i::text, 4, '0'), s.step, st.status, 'run ' || i || ' ' || s.step, 1,
      now() - make_interval(mins => ${RUNS} - i)
    FROM generate_series(1, ${RUNS}) i, unnest(${[...PROVISION_STEPS]}::text[]) WITH ORDINALITY s(step, o),
      (VALUES (1, 'running'), (2, 'complete')) st(k, status)
    ORDER BY i, s.o, st.k`.execute(db);
}, 60_000);
afterAll(() => t.close());

describe('GET /api/fleet of a fleet with a long history', () => {
  it('shows the newest runs whole, each older step by its latest entry, and counts the rest', async () => {
    const res = await t.request('/api/fleet', { token: t.token({ userId: 'user_l', orgId: 'org_long', orgRole: 'admin' }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeLessThan(32 * 1024);
    const { fleet } = JSON.parse(text) as {
      fleet: { provisionLog: Array<{ runId: string; step: string; status: string }>; provisionLogSummary: unknown };
    };
    const perRun = PROVISION_STEPS.length * 2;
    const newest = Array.from({ length: WHOLE_RUNS }, (_, k) => `run_h${String(RUNS - WHOLE_RUNS + 1 + k).padStart(4, '0')}`);
    const before = `run_h${String(RUNS - WHOLE_RUNS).padStart(4, '0')}`;
    // Oldest first: each step's latest entry from before the newest runs (the one old gateway_stop,
    // then the last older run's completions), then the newest runs, every entry of each.
    expect(fleet.provisionLog.slice(0, 1 + PROVISION_STEPS.length)).toEqual([
      expect.objectContaining({ runId: 'run_h0001', step: 'gateway_stop', status: 'complete' }),
      ...PROVISION_STEPS.map((step) => expect.objectContaining({ runId: before, step, status: 'complete' })),
    ]);
    expect(fleet.provisionLog.slice(1 + PROVISION_STEPS.length).map((e) => e.runId)).toEqual(
      newest.flatMap((id) => Array(perRun).fill(id)),
    );
    expect(fleet.provisionLog.at(-1)).toMatchObject({ runId: newest.at(-1), step: 'complete', status: 'complete' });
    const olderEntries = (RUNS - WHOLE_RUNS) * perRun + 1;
    expect(fleet.provisionLogSummary).toEqual({
      olderRuns: RUNS - WHOLE_RUNS,
      omittedEntries: olderEntries - (1 + PROVISION_STEPS.length),
    });
  });

  it('says nothing is left out of a short history', async () => {
    await t.createTenant({ tenantId: 'short_history', name: 'S', clerkOrgId: 'org_short' });
    const res = await t.request('/api/fleet', { token: t.token({ userId: 'user_s', orgId: 'org_short', orgRole: 'admin' }) });
    const { fleet } = (await res.json()) as { fleet: { provisionLog: unknown[]; provisionLogSummary: unknown } };
    expect(fleet).toMatchObject({ provisionLog: [], provisionLogSummary: null });
  });
});
