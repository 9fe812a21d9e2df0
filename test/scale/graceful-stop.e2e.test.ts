import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, type FleetCluster, type FleetProcess, fleetCluster } from '../harness/fleet-cluster.ts';
import { SseReader } from '../harness/sse.ts';
import { startSystemPostgres, type SystemPostgres } from '../harness/system-postgres.ts';
import { waitFor } from '../harness/wait.ts';

/**
 * SIGTERM, as systemd and every orchestrator stop a process: a worker hands its runs back at once
 * and is gone within 10 s, so another worker resumes them now, not after the stale timeout; an API
 * process tells its event streams when to come back (`retry:`) and ends them. Either stop logs no
 * error and ends with one "stopped" line.
 */
let server: SystemPostgres;
let cluster: FleetCluster;
let pool: pg.Pool;
let api: ApiProcess;

// Far longer than the test waits: a run resumed only after the stale timeout fails it.
const STALE_AFTER_SECONDS = 60;

beforeAll(async () => {
  server = await startSystemPostgres({ ports: [44550, 44559] });
  pool = new pg.Pool({ connectionString: server.url, max: 2 });
  cluster = fleetCluster(server.url, { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: String(STALE_AFTER_SECONDS) });
  await cluster.migrate();
  api = await cluster.startApi();
}, 400_000);
afterAll(async () => {
  await cluster?.close();
  await pool?.end();
  await server?.stop();
});

const errorLines = (p: FleetProcess) => p.logLines().filter((l) => l.level >= 50);
const provision = async (url: string, token: string) => {
  const res = await fetch(`${url}/api/fleet/provision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ templateId: 'solo-engineer' }),
  });
  expect(res.status).toBe(202);
};
const runOf = async (userId: string) =>
  (
    await pool.query<{ status: string; worker: string | null; fleet_status: string }>(
      `SELECT r.status, r.worker, f.status AS fleet_status FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id
         JOIN tenants t ON t.id = f.tenant_id WHERE t.clerk_user_id = $1`,
      [userId],
    )
  ).rows[0];

describe('a worker stopped with SIGTERM in the middle of a step', () => {
  it('hands the run back at once: another worker finishes it long before the stale timeout; a clean log', {
    timeout: 300_000,
  }, async () => {
    // Its steps take 30 s each: SIGTERM finds it inside the first one.
    const slow = await cluster.startWorker({ concurrency: 1, env: { FLEET_TEST_STANDIN_STEP_MS: '30000' } });
    const token = cluster.token('user_sigterm');
    await provision(api.url, token);
    await waitFor(
      async () => (await runOf('user_sigterm'))?.worker?.endsWith(`:${slow.child.pid}`) === true,
      60_000,
      'the slow worker to claim the run',
    );
    const fast = await cluster.startWorker({ concurrency: 1, env: { FLEET_TEST_STANDIN_STEP_MS: '50' } });

    const signalled = Date.now();
    slow.child.kill('SIGTERM');
    const { code } = await slow.exited;
    const stoppedIn = Date.now() - signalled;
    expect(code, slow.output()).toBe(0);
    expect(stoppedIn).toBeLessThan(10_000);

    await waitFor(async () => (await runOf('user_sigterm'))?.fleet_status === 'active', 45_000, 'the other worker to finish the run').catch(
      async (e: Error) => {
        throw new Error(
          `${e.message}; run ${JSON.stringify(await runOf('user_sigterm'))}\n--- stopped worker:\n${slow.output()}\n--- other worker:\n${fast.output()}`,
        );
      },
    );
    const finishedIn = Date.now() - signalled;
    console.log(
      `SIGTERM → worker exited in ${(stoppedIn / 1000).toFixed(1)} s; the run active on the other worker ${(finishedIn / 1000).toFixed(1)} s after the signal`,
    );
    expect(finishedIn).toBeLessThan(STALE_AFTER_SECONDS * 1000);
    const run = await runOf('user_sigterm');
    expect(run).toMatchObject({ status: 'complete', worker: expect.stringMatching(new RegExp(`:${fast.child.pid}$`)) });

    expect(errorLines(slow)).toEqual([]);
    const lines = slow.logLines();
    expect(lines.filter((l) => l.msg === 'stopped')).toHaveLength(1);
    expect(lines.at(-1)?.msg).toBe('stopped');
    // Nothing logs a client or connection object (pg's carries the server's cancel secret).
    expect(slow.output()).not.toMatch(/secretKey|processID|"client"/);
  });
});

describe('an API process stopped with SIGTERM', () => {
  it('sends each event stream `retry:` and ends it, stops accepting, exits 0 with a clean log', { timeout: 300_000 }, async () => {
    const other = await cluster.startApi();
    const token = cluster.token('user_stream');
    const res = await fetch(`${other.url}/api/fleet/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = new SseReader(res);
    await reader.until((evs) => evs.some((e) => e.event === 'snapshot'));

    other.child.kill('SIGTERM');
    await reader.ended(10_000);
    expect(reader.retryMs).toBeGreaterThan(0);
    const { code } = await other.exited;
    expect(code, other.output()).toBe(0);
    await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();

    expect(errorLines(other)).toEqual([]);
    const lines = other.logLines();
    expect(lines.filter((l) => l.msg === 'stopped')).toHaveLength(1);
    expect(lines.at(-1)?.msg).toBe('stopped');
    expect(other.output()).not.toMatch(/secretKey|processID|"client"/);
  });
});
