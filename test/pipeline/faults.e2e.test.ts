import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startRescuer, type TestApp } from '../harness/app.ts';
import { completeCounts, type FleetBody, waitForFleet } from '../harness/wait.ts';
import { spawnWorkerProcess, type WorkerProcess } from '../harness/worker-process.ts';

/**
 * Fault injection at every step: a terminal failure, a hang past the step's timeout, a transient
 * failure that heals, and a worker process killed with SIGKILL in the middle of a run.
 */
const STEPS = ['vm_create', 'workspace_bootstrap', 'agent_config', 'gateway_start', 'connectivity_check', 'complete'];
const workers: WorkerProcess[] = [];
let t: TestApp;

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = path.resolve('test/gateway/standin-gateway.mjs');
  t = await createTestApp({
    workers: { concurrency: 3 },
    env: { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3' },
  });
});
afterEach(() => t.settings.faults.clear());
afterAll(async () => {
  for (const w of workers) w.kill();
  await t.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

let n = 0;
const session = () => {
  n++;
  return t.token({ userId: `user_f${n}` });
};
const provision = async (token: string) => {
  const res = await t.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
  expect(res.status).toBe(202);
};
const errorEntry = (fleet: FleetBody) => fleet.provisionLog.find((e) => e.status === 'error');

describe('a terminal failure at each step ends the run in error, naming the step; retry resumes there', () => {
  it.each(STEPS)('%s', async (step) => {
    t.settings.faults.set(step, 'throw');
    const token = session();
    await provision(token);
    const failed = await waitForFleet(t, token, ['error', 'active']);
    expect(failed.status).toBe('error');
    expect(errorEntry(failed)).toMatchObject({ step, message: expect.stringContaining(`Injected failure in ${step}`) });
    const before = completeCounts(failed);
    expect(Object.keys(before)).toEqual(STEPS.slice(0, STEPS.indexOf(step)));

    // Retry is only for error; it resumes at the failed step and does not redo completed ones.
    t.settings.faults.clear();
    const retry = await t.request('/api/fleet/retry', { method: 'POST', token });
    expect(retry.status).toBe(202);
    const healed = await waitForFleet(t, token, ['active', 'error']);
    expect(healed.status).toBe('active');
    expect(completeCounts(healed)).toEqual(Object.fromEntries(STEPS.map((s) => [s, 1])));
    const again = await t.request('/api/fleet/retry', { method: 'POST', token });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe(
      'Cannot retry: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    );
  });
});

describe('a step that hangs is ended by its timeout', () => {
  it('fails connectivity_check after its budget with a message that names it', async () => {
    const app = await createTestApp({ workers: { concurrency: 1 }, env: { FLEET_STEP_TIMEOUTS: 'connectivity_check=1500' } });
    try {
      app.settings.faults.set('connectivity_check', 'hang');
      const token = app.token({ userId: 'user_hang' });
      await app.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
      const fleet = await waitForFleet(app, token, ['error', 'active']);
      expect(fleet.status).toBe('error');
      expect(errorEntry(fleet)).toMatchObject({
        step: 'connectivity_check',
        message: expect.stringMatching(/did not finish within 1.5 s/),
      });
      expect(errorEntry(fleet)!.durationMs).toBeGreaterThanOrEqual(1400);
    } finally {
      await app.close();
    }
  });
});

describe('a transient failure is retried inside the step', () => {
  it('agent_config fails once, then the run completes with one complete entry for it', async () => {
    // The terminal test at agent_config fired a fault there; clear() (afterEach) forgot it.
    expect(t.settings.faults.fired('agent_config')).toBe(0);
    t.settings.faults.set('agent_config', 'transient');
    const token = session();
    const userId = `user_f${n}`;
    await provision(token);
    const fleet = await waitForFleet(t, token, ['active', 'error']);
    expect(fleet.status).toBe('active');
    // The fault really fired (once: a transient fault heals), so the step ran again to get here.
    expect(t.settings.faults.fired('agent_config')).toBe(1);
    expect(completeCounts(fleet)).toEqual(Object.fromEntries(STEPS.map((s) => [s, 1])));
    expect(errorEntry(fleet)).toBeUndefined();
    // Retried inside the step, in the same run: one run, the provision itself, no retry request.
    const runs = await t.database.db
      .selectFrom('provision_runs')
      .innerJoin('fleets', 'fleets.id', 'provision_runs.fleet_id')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select(['provision_runs.kind', 'provision_runs.status', 'provision_runs.failed_step'])
      .where('tenants.clerk_user_id', '=', userId)
      .execute();
    expect(runs).toEqual([{ kind: 'provision', status: 'complete', failed_step: null }]);
  });
});

describe('a worker killed with SIGKILL mid-run', () => {
  it.each(['workspace_bootstrap', 'gateway_start'])(
    'at %s: another worker resumes the run to active within 30 s, one machine per fleet',
    { timeout: 90_000 },
    async (step) => {
      // Stop this process's workers from taking the job, so the doomed child gets it.
      const app = await createTestApp({ env: { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3' } });
      try {
        const worker = spawnWorkerProcess(app, {
          FLEET_TEST_FAULTS: `${step}:kill`,
          FLEET_HEARTBEAT_SECONDS: '0.5',
          FLEET_STALE_AFTER_SECONDS: '3',
        });
        workers.push(worker);
        const token = app.token({ userId: 'user_killed' });
        await app.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } });
        expect(await worker.died, worker.stderr()).toBe('SIGKILL');
        const killedAt = Date.now();

        // A healthy worker appears; its watchdog finds the silent run and resumes it.
        const rescuer = await startRescuer(app);
        try {
          const fleet = await waitForFleet(app, token, ['active', 'error'], 30_000);
          expect(fleet.status).toBe('active');
          expect(Date.now() - killedAt).toBeLessThan(30_000);
          expect(completeCounts(fleet)).toEqual(Object.fromEntries(STEPS.map((s) => [s, 1])));
          const runs = await app.database.db.selectFrom('provision_runs').select(['status']).execute();
          expect(runs).toEqual([{ status: 'complete' }]);
          // One machine directory (service records live in the dot-named dir beside the machines).
          expect(fs.readdirSync(path.join(app.dataDir, 'fleets')).filter((n) => !n.startsWith('.'))).toEqual(['auto_user_killed']);
        } finally {
          await rescuer.stop();
        }
      } finally {
        await app.close();
      }
    },
  );
});
