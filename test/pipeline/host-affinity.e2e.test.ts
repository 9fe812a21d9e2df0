import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRunFairly } from '../../src/db/fair-claim.ts';
import { DEFAULT_PLAN_LIMITS } from '../../src/domain/plans.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';
import { waitFor } from '../harness/wait.ts';

/**
 * A local-driver machine exists only on the host that made it, so only workers on that host may
 * work on its fleet's runs: `fleet worker` processes with different FLEET_HOST_IDs on one database.
 */
let t: TestApp;
const children: ChildProcess[] = [];

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await t.close();
});

async function startWorker(hostId: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/fleet.js', 'worker', '--concurrency', '2'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: t.database.url,
      FLEET_DATA_DIR: t.dataDir,
      FLEET_SECRETS_KEY: t.box.keyHex(),
      FLEET_HOST_ID: hostId,
      FLEET_TEST_STANDIN_STEP_MS: '20',
      FLEET_HEARTBEAT_SECONDS: '0.5',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('"worker started"') || child.exitCode !== null, 180_000, `the worker on ${hostId}`);
  expect(child.exitCode, out).toBeNull();
  const stop = async () => {
    child.kill('SIGTERM');
    await once(child, 'exit');
  };
  return { child, pid: child.pid!, stop };
}

const fleetOf = (userId: string) =>
  t.database.db
    .selectFrom('fleets')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['fleets.id', 'fleets.status', 'fleets.machine_host'])
    .where('tenants.clerk_user_id', '=', userId)
    .executeTakeFirstOrThrow();
const lastRun = (fleetId: string) =>
  t.database.db
    .selectFrom('provision_runs')
    .select(['id', 'status', 'worker'])
    .where('fleet_id', '=', fleetId)
    .orderBy('created_at', 'desc')
    .executeTakeFirstOrThrow();

describe('host affinity of local machines', () => {
  it("a fleet's runs are worked only on the host that made its machine; a worker elsewhere leaves them queued", {
    timeout: 400_000,
  }, async () => {
    // host-a makes the machine; its run fails at agent_config, so a retry is needed later.
    const a = await startWorker('host-a', { FLEET_TEST_FAULTS: 'agent_config:throw' });
    const alice = t.token({ userId: 'user_on_a' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token: alice, json: { templateId: 'solo-engineer' } })).status).toBe(
      202,
    );
    await waitFor(async () => (await fleetOf('user_on_a')).status === 'error', 60_000, 'the fleet on host-a to fail');
    const onA = await fleetOf('user_on_a');
    expect(onA.machine_host).toBe('host-a');
    await a.stop();

    // Only host-b has a worker now: it takes new fleets, never the retry of host-a's fleet.
    const b = await startWorker('host-b');
    expect((await t.request('/api/fleet/retry', { method: 'POST', token: alice })).status).toBe(202);
    const bob = t.token({ userId: 'user_on_b' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token: bob, json: { templateId: 'solo-engineer' } })).status).toBe(
      202,
    );
    await waitFor(async () => (await fleetOf('user_on_b')).status === 'active', 60_000, 'the new fleet on host-b');
    expect((await fleetOf('user_on_b')).machine_host).toBe('host-b');
    await new Promise((r) => setTimeout(r, 3000));
    expect(await lastRun(onA.id)).toMatchObject({ status: 'queued', worker: null });

    // A worker on host-a comes back: it takes the retry and finishes it.
    const a2 = await startWorker('host-a');
    await waitFor(async () => (await fleetOf('user_on_a')).status === 'active', 60_000, 'the retry on host-a');
    expect(await lastRun(onA.id)).toMatchObject({ status: 'complete', worker: expect.stringMatching(new RegExp(`:${a2.pid}$`)) });
    await Promise.all([b.stop(), a2.stop()]);
  });

  it("a GCP fleet's runs are claimed on any host", async () => {
    const token = t.token({ userId: 'user_gcp' });
    expect((await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(202);
    const fleet = await fleetOf('user_gcp');
    const run = await lastRun(fleet.id);
    await t.database.db.updateTable('fleets').set({ compute_driver: 'gcp', machine_host: null }).where('id', '=', fleet.id).execute();
    const claimed = await claimRunFairly(t.database.db, run.id, 'host-z:1', 10, DEFAULT_PLAN_LIMITS, 'host-z');
    expect(claimed).toMatchObject({ id: run.id, status: 'running', worker: 'host-z:1' });
    // Nothing binds a GCP fleet to the host that happened to claim it.
    expect((await fleetOf('user_gcp')).machine_host).toBeNull();
  });
});
