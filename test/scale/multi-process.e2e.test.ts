import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, type FleetCluster, type FleetProcess, fleetCluster } from '../harness/fleet-cluster.ts';
import { SseReader } from '../harness/sse.ts';
import { startSystemPostgres, type SystemPostgres } from '../harness/system-postgres.ts';
import { waitFor } from '../harness/wait.ts';

/**
 * Several processes, one real PostgreSQL server (Debian's, a throwaway cluster): two API
 * processes (`fleet serve --workers 0`) and three `fleet worker` processes. 100 tenants provision
 * at once through both APIs, with stand-in steps (FLEET_TEST_STANDIN_STEP_MS) so the control plane
 * is what is measured; one worker is SIGKILLed half-way. Every run still ends complete, each step
 * completes once, and an SSE client on API A sees every event of runs that only workers wrote.
 */
const TENANTS = 100;
const STEP_MS = 100;
const WATCHED = 20; // tenants provisioned through B whose streams are read on A

let server: SystemPostgres;
let cluster: FleetCluster;
let pool: pg.Pool;
let apiA: ApiProcess;
let apiB: ApiProcess;
let workers: FleetProcess[];

beforeAll(async () => {
  server = await startSystemPostgres({ ports: [44550, 44559] });
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  cluster = fleetCluster(server.url, {
    FLEET_TEST_STANDIN_STEP_MS: String(STEP_MS),
    FLEET_HEARTBEAT_SECONDS: '0.5',
    FLEET_STALE_AFTER_SECONDS: '3',
    FLEET_HOST_ID: 'host-a',
    // The burst's requests and every stream come from one test process.
    FLEET_RATE_LIMIT_PER_MINUTE: '100000',
  });
  await cluster.migrate();
  apiA = await cluster.startApi();
  [apiB, ...workers] = await Promise.all([cluster.startApi(), ...[1, 2, 3].map(() => cluster.startWorker({ concurrency: 4 }))]);
}, 400_000);
afterAll(async () => {
  await cluster?.close();
  await pool?.end();
  await server?.stop();
});

const count = async (text: string, values: unknown[] = []) => Number((await pool.query<{ n: string }>(text, values)).rows[0]!.n);

describe('2 API processes and 3 worker processes on one PostgreSQL server', () => {
  it('provision 100 tenants at once; a worker killed half-way; every run completes exactly once', { timeout: 300_000 }, async () => {
    const users = Array.from({ length: TENANTS }, (_, i) => `user_burst_${i}`);
    const tokens = users.map((u) => cluster.token(u));
    const viaB = (i: number) => i % 2 === 1;
    const watched = users
      .map((_, i) => i)
      .filter(viaB)
      .slice(0, WATCHED);

    // Streams on A for tenants that do not exist yet, and that B will create.
    const streams = await Promise.all(
      watched.map(async (i) => {
        const res = await fetch(`${apiA.url}/api/fleet/events`, { headers: { authorization: `Bearer ${tokens[i]}` } });
        expect(res.status).toBe(200);
        const reader = new SseReader(res);
        await reader.until((evs) => evs.some((e) => e.event === 'snapshot'));
        return { i, reader };
      }),
    );

    const started = performance.now();
    const answers = await Promise.all(
      tokens.map((token, i) =>
        fetch(`${viaB(i) ? apiB.url : apiA.url}/api/fleet/provision`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ templateId: 'solo-engineer' }),
        }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(tokens.map(() => 202));

    // Half-way: SIGKILL one worker while it holds runs.
    const victim = workers[0]!;
    const victimId = `${victim.child.pid}`;
    await waitFor(
      async () => (await count(`SELECT count(*) AS n FROM provision_runs WHERE status = 'complete'`)) >= TENANTS / 2,
      120_000,
      'half the runs',
    );
    const heldByVictim = await count(`SELECT count(*) AS n FROM provision_runs WHERE status = 'running' AND worker LIKE '%:' || $1`, [
      victimId,
    ]);
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');

    await waitFor(
      async () => (await count(`SELECT count(*) AS n FROM fleets WHERE status = 'active'`)) === TENANTS,
      120_000,
      'every fleet to be active',
    );
    const seconds = (performance.now() - started) / 1000;
    const stepSeconds = (6 * STEP_MS) / 1000;
    console.log(
      `burst: ${TENANTS} tenants through 2 API processes, 3 workers (one SIGKILLed holding ${heldByVictim} runs): ` +
        `request → every fleet active in ${seconds.toFixed(1)} s (${(TENANTS / seconds).toFixed(1)} runs/s; each run's stand-in steps take ${stepSeconds} s)`,
    );

    // Every run complete, each of its six steps complete once, one checkpoint each.
    expect(await count(`SELECT count(*) AS n FROM provision_runs WHERE status <> 'complete'`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM provision_runs`)).toBe(TENANTS);
    const { rows: steps } = await pool.query<{
      run_id: string;
      step: string;
      completes: number;
      runs: number;
      checkpoints: number;
      attempts: number;
    }>(
      `SELECT l.run_id, l.step, r.attempts,
              count(*) FILTER (WHERE l.status = 'complete')::int AS completes,
              count(*) FILTER (WHERE l.status = 'running')::int AS runs,
              (SELECT count(*)::int FROM step_checkpoints c WHERE c.run_id = l.run_id AND c.step = l.step) AS checkpoints
         FROM provision_log l JOIN provision_runs r ON r.id = l.run_id
        GROUP BY l.run_id, l.step, r.attempts`,
    );
    expect(steps).toHaveLength(TENANTS * 6);
    expect(steps.filter((s) => s.completes !== 1 || s.checkpoints !== 1)).toEqual([]);
    expect(await count(`SELECT count(*) AS n FROM provision_log WHERE status = 'error'`)).toBe(0);
    // A step runs once, except the one a killed worker was in the middle of: it runs again, once.
    const resumed = new Set(steps.filter((s) => s.attempts > 1).map((s) => s.run_id));
    expect(steps.filter((s) => !resumed.has(s.run_id) && s.runs !== 1)).toEqual([]);
    for (const runId of resumed) {
      const again = steps.filter((s) => s.run_id === runId && s.runs > 1);
      expect(again.length, runId).toBeLessThanOrEqual(1);
      expect(again.every((s) => s.runs === 2)).toBe(true);
    }
    // The kill hit runs in flight, and each of them was taken over exactly once.
    expect(heldByVictim).toBeGreaterThan(0);
    expect(resumed.size).toBeGreaterThanOrEqual(heldByVictim);
    expect(await count(`SELECT count(*) AS n FROM provision_runs WHERE attempts > 2`)).toBe(0);

    // API A served every event of the tenants B created and the workers worked.
    for (const { i, reader } of streams) {
      const { rows } = await pool.query<{ id: number; type: string }>(
        `SELECT e.id::int AS id, e.type FROM fleet_events e JOIN tenants t ON t.id = e.tenant_id
          WHERE t.clerk_user_id = $1 ORDER BY e.id`,
        [users[i]],
      );
      expect(rows.length).toBeGreaterThan(12);
      const ids = rows.map((r) => String(r.id));
      const seen = await reader.until((evs) => ids.every((id) => evs.some((e) => e.id === id)), 10_000);
      expect(seen.filter((e) => e.event !== 'snapshot').map((e) => e.id)).toEqual(ids);
      await reader.close();
    }
  });
});
