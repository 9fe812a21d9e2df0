import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ReconcileConfig } from '../../src/config.ts';
import { withReconcileLock } from '../../src/db/reconcile-lock.ts';
import { insertRun } from '../../src/db/runs.ts';
import { isHealthy } from '../../src/gateway/process.ts';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { observeFleet } from '../../src/pipeline/observe-fleet.ts';
import { reconcileOnce, startReconciler } from '../../src/pipeline/reconciler.ts';
import { gatewayPortOf, localMachine, provisionToActive, slugOfUser } from '../harness/lifecycle.ts';
import { useStandinApp } from '../harness/standin-app.ts';
import { type FleetBody, waitFor, waitForFleet } from '../harness/wait.ts';

/**
 * The reconciler on the local driver with the stand-in gateway: what it restarts, what it moves to
 * `error` and when, what it never touches, its lock, and the machines no fleet owns.
 */
const app = useStandinApp({ workers: { concurrency: 2 }, env: { FLEET_HEARTBEAT_SECONDS: '0.3' } });
const log = createLogger('silent');
const config = (over: Partial<ReconcileConfig> = {}): ReconcileConfig => ({
  intervalSeconds: 30,
  unhealthyChecks: 3,
  deleteOrphans: false,
  ...over,
});
const once = (over: Partial<ReconcileConfig> = {}) =>
  reconcileOnce({ db: app().database.db, settings: app().settings, log, config: config(over) });
const reconcileEntries = (fleet: FleetBody) => fleet.provisionLog.filter((e) => e.step === 'reconcile');

async function activeFleet(userId: string) {
  const t = app();
  const token = t.token({ userId });
  const fleet = await provisionToActive(t, token);
  const machine = localMachine(t, await slugOfUser(t, { userId }));
  return { t, token, fleet, port: gatewayPortOf(fleet), machine, host: new LocalHost(machine.root) };
}

describe('the reconciler loop', () => {
  it('restarts a gateway killed behind our back, and says so in the fleet log', async () => {
    const { t, token, port, host } = await activeFleet('user_killed');
    const { pid } = await host.serviceStatus(GATEWAY_SERVICE);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => !(await host.serviceStatus(GATEWAY_SERVICE)).running, 5000, 'the gateway to die');

    const loop = startReconciler({ db: t.database.db, settings: t.settings, log, config: config({ intervalSeconds: 0.5 }) });
    try {
      await waitFor(() => isHealthy(host, port), 20_000, 'the reconciler to restart the gateway');
    } finally {
      await loop.stop();
    }
    const { pid: newPid } = await host.serviceStatus(GATEWAY_SERVICE);
    expect(newPid).not.toBe(pid);
    const fleet = await waitForFleet(t, token, ['active']);
    expect(reconcileEntries(fleet)).toEqual([
      expect.objectContaining({ status: 'complete', message: expect.stringContaining('The gateway had stopped') }),
    ]);
  });
});

describe('a machine gone behind our back', () => {
  it('moves the fleet to error after the configured number of checks, saying what was found and what to do', async () => {
    const { t, token, machine } = await activeFleet('user_gone');
    fs.rmSync(machine.root, { recursive: true, force: true });

    const first = await once({ unhealthyChecks: 2 });
    expect(first).toMatchObject({ failed: 0 });
    // One failed check is not enough to act on.
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    const second = await once({ unhealthyChecks: 2 });
    expect(second).toMatchObject({ failed: 1 });
    const fleet = await waitForFleet(t, token, ['error']);
    expect(reconcileEntries(fleet).at(-1)).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/machine not running in 2 checks in a row \(the machine is gone.*Retry the fleet/),
    });

    // The retry rebuilds the machine (its checkpoints from vm_create were dropped).
    expect((await t.request('/api/fleet/retry', { method: 'POST', token })).status).toBe(202);
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    expect(machine.exists()).toBe(true);
  });
  it('is rebuilt by a retry even when the last run was a resume (the retry provisions, it does not resume again)', async () => {
    const { t, token, machine } = await activeFleet('user_gone_after_resume');
    expect((await t.request('/api/fleet/suspend', { method: 'POST', token, json: {} })).status).toBe(202);
    expect((await waitForFleet(t, token, ['suspended', 'error'])).status).toBe('suspended');
    expect((await t.request('/api/fleet/resume', { method: 'POST', token })).status).toBe(202);
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    fs.rmSync(machine.root, { recursive: true, force: true });
    await once({ unhealthyChecks: 1 });
    expect((await waitForFleet(t, token, ['error'])).status).toBe('error');

    const retry = await t.request('/api/fleet/retry', { method: 'POST', token });
    expect(retry.status).toBe(202);
    const runId = ((await retry.json()) as { runId: string }).runId;
    const run = await t.database.db.selectFrom('provision_runs').select('kind').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.kind).toBe('provision');
    expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    expect(machine.exists()).toBe(true);
  });
});

describe('stopped means stopped', () => {
  it("never restarts a suspended fleet's dead gateway", async () => {
    const { t, token, port, host } = await activeFleet('user_suspended');
    expect((await t.request('/api/fleet/suspend', { method: 'POST', token, json: {} })).status).toBe(202);
    expect((await waitForFleet(t, token, ['suspended', 'error'])).status).toBe('suspended');
    expect(await isHealthy(host, port)).toBe(false);

    await once({ unhealthyChecks: 1 });
    await once({ unhealthyChecks: 1 });
    expect(await isHealthy(host, port)).toBe(false);
    const fleet = await waitForFleet(t, token, ['suspended', 'error']);
    expect(fleet.status).toBe('suspended');
    expect(reconcileEntries(fleet)).toEqual([]);
  });
});

describe('the lock', () => {
  it('lets one reconciler work at a time', async () => {
    const { t } = await activeFleet('user_lock');
    // Another process's reconciler in the middle of its pass: this one does nothing.
    const whileHeld = await withReconcileLock(t.database.db, () => once());
    expect(whileHeld).toEqual({ ran: true, result: null });
    // Two at once: one does the pass, the other finds the lock taken.
    const both = await Promise.all([once(), once()]);
    expect(both.filter((r) => r === null)).toHaveLength(1);
    expect(both.find((r) => r !== null)?.fleets).toBeGreaterThanOrEqual(1);
  });
});

describe('orphan machines', () => {
  it('are reported in /metrics and deleted (with their gateway) only when FLEET_DELETE_ORPHANS is true', async () => {
    const t = app();
    const root = path.join(t.dataDir, 'fleets', 'ghost_tenant');
    const ghost = new LocalHost(root);
    await ghost.mkdirp('.');
    const { pid } = await ghost.startService({
      name: GATEWAY_SERVICE,
      command: '/bin/sleep',
      args: ['300'],
      env: {},
      cwd: '.',
      logFile: 'g.log',
    });
    const gauge = async () => {
      const text = await (await t.request('/metrics')).text();
      return Number(/^fleet_orphan_machines (\d+)$/m.exec(text)?.[1]);
    };

    // Warned about once, in the pass that finds it, not in every pass.
    const warnings: string[] = [];
    const captured = createLogger('warn', { write: (line: string) => void warnings.push(line) });
    const watched = () => reconcileOnce({ db: t.database.db, settings: t.settings, log: captured, config: config() });
    expect(await watched()).toMatchObject({ orphans: 1 });
    expect(await watched()).toMatchObject({ orphans: 1 });
    expect(warnings.map((l) => JSON.parse(l) as { msg: string; name: string })).toEqual([
      expect.objectContaining({ where: 'fleets/ghost_tenant', msg: expect.stringContaining('no fleet owns') }),
    ]);
    expect(await gauge()).toBe(1);
    expect(fs.existsSync(root)).toBe(true);
    expect((await ghost.serviceStatus(GATEWAY_SERVICE)).running).toBe(true);

    expect(await once({ deleteOrphans: true })).toMatchObject({ orphans: 0 });
    expect(await gauge()).toBe(0);
    expect(fs.existsSync(root)).toBe(false);
    await waitFor(
      () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '),
      5000,
      'the orphan gateway to stop',
    );
  });
});

describe('a gateway that stays unhealthy', () => {
  it('is restarted each pass it is found dead, and after the configured number of failed checks the fleet is in error', async () => {
    const { t, token, host, machine } = await activeFleet('user_unhealthy');
    // Dead, and it cannot start again: its config was broken behind our back.
    fs.writeFileSync(path.join(machine.root, 'openclaw/openclaw.json'), '{ not json');
    const { pid } = await host.serviceStatus(GATEWAY_SERVICE);
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => !(await host.serviceStatus(GATEWAY_SERVICE)).running, 5000, 'the gateway to die');

    for (let i = 0; i < 2; i++) {
      expect(await once({ unhealthyChecks: 3 })).toMatchObject({ failed: 0 });
      expect((await waitForFleet(t, token, ['active', 'error'])).status).toBe('active');
    }
    expect(await once({ unhealthyChecks: 3 })).toMatchObject({ failed: 1 });
    const fleet = await waitForFleet(t, token, ['error']);
    expect(reconcileEntries(fleet).at(-1)).toMatchObject({
      status: 'error',
      message: expect.stringMatching(
        /gateway unhealthy in 3 checks in a row \(the gateway had stopped and did not start again: .*Retry the fleet/,
      ),
    });
  });
});

describe('a fleet with a run at work', () => {
  it('is left to its run: a gateway the run stopped is not started behind its back', async () => {
    const { t, port, host } = await activeFleet('user_busy');
    const { id: fleetId } = await t.database.db
      .selectFrom('fleets')
      .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
      .select('fleets.id')
      .where('tenants.clerk_user_id', '=', 'user_busy')
      .executeTakeFirstOrThrow();
    const { pid } = await host.serviceStatus(GATEWAY_SERVICE);
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => !(await host.serviceStatus(GATEWAY_SERVICE)).running, 5000, 'the gateway to die');
    // A run queued for the fleet (no job: no worker takes it during the test).
    const run = await insertRun(t.database.db, fleetId, 'provision');
    try {
      await once({ unhealthyChecks: 1 });
      expect(await isHealthy(host, port)).toBe(false);
    } finally {
      await t.database.db.updateTable('provision_runs').set({ status: 'cancelled' }).where('id', '=', run.id).execute();
    }
    // Once the run is over, the next pass looks at the fleet again.
    await once({ unhealthyChecks: 1 });
    expect(await isHealthy(host, port)).toBe(true);
  });
});

describe('a pass over many fleets', () => {
  it('looks at FLEET_RECONCILE_CONCURRENCY fleets side by side, each once', async () => {
    const t = app();
    for (const userId of ['user_lane_a', 'user_lane_b', 'user_lane_c']) await activeFleet(userId);
    const watch = () => {
      let inFlight = 0;
      const seen = { max: 0, fleets: [] as string[] };
      const observe: typeof observeFleet = async (db, settings, fleet) => {
        seen.max = Math.max(seen.max, ++inFlight);
        seen.fleets.push(fleet.id);
        try {
          // Long enough that lanes overlap whatever the machine's load.
          await new Promise((r) => setTimeout(r, 150));
          return await observeFleet(db, settings, fleet);
        } finally {
          inFlight--;
        }
      };
      return { seen, observe };
    };
    const pass = async (concurrency: number) => {
      const { seen, observe } = watch();
      const result = await reconcileOnce({ db: t.database.db, settings: t.settings, log, config: config({ concurrency }), observe });
      return { result, seen };
    };

    const wide = await pass(2);
    expect(wide.result!.fleets).toBeGreaterThanOrEqual(3);
    expect(wide.seen.max).toBe(2);
    expect(new Set(wide.seen.fleets).size).toBe(wide.result!.fleets);
    expect(wide.seen.fleets).toHaveLength(wide.result!.fleets);

    const narrow = await pass(1);
    expect(narrow.seen.max).toBe(1);
    expect(narrow.seen.fleets.sort()).toEqual(wide.seen.fleets.sort());
  });
});
