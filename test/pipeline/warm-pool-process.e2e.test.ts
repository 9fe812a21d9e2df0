import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalMachine } from '../../src/compute/driver.ts';
import { listOfHost } from '../../src/db/warm-gateways.ts';
import { createTestApp, startRescuer, type TestApp } from '../harness/app.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { waitFor, waitForFleet } from '../harness/wait.ts';
import { lookupUser } from '../../src/hosts/os-users.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';
import { alive } from '../hosts/fixtures.ts';

/**
 * The warm pool across `fleet worker` processes. One SIGKILLed right after its claim on a pooled
 * gateway committed (fault point `warm_claim`) leaks nothing: the run's next worker finds the
 * gateway claimed for the fleet and takes that very gateway over, and what the dead process had
 * started for its pool is reaped. One stopped with SIGTERM stops the pooled gateways it started.
 */
beforeAll(() => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
});
afterAll(() => {
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('a worker killed mid-claim', () => {
  it('leaves the claimed gateway to the run, which resumes on it', { timeout: 90_000 }, async () => {
    const env = { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3', FLEET_WARM_POOL: '1' };
    // No worker in this process: the doomed child fills its pool, claims, and dies.
    const app: TestApp = await createTestApp({ env });
    let stopChild = () => {};
    try {
      const child = spawnWorkerProcess(app, {
        FLEET_TEST_FAULTS: 'warm_claim:kill',
        ...env,
        // Two: one for the claim, one left ready when it dies (the rescuer must reap that one).
        FLEET_WARM_POOL: '2',
      });
      stopChild = child.kill;
      const hostId = app.settings.hostId;
      await waitFor(
        async () => (await listOfHost(app.database.db, hostId)).filter((r) => r.state === 'ready').length === 2,
        30_000,
        'two ready pooled gateways',
      );

      const token = app.token({ userId: 'user_warm_kill' });
      expect((await app.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(
        202,
      );
      expect(await child.died, child.stderr()).toBe('SIGKILL');
      const claimed = (await listOfHost(app.database.db, hostId)).filter((r) => r.state === 'claimed');
      expect(claimed).toHaveLength(1);
      const [gateway] = claimed;
      const [orphaned] = (await listOfHost(app.database.db, hostId)).filter((r) => r.state === 'ready');
      expect(alive(orphaned!.pid!)).toBe(true);
      // Killed after the claim and before vm_create's checkpoint: the claim is all there is.
      const checkpoints = await app.database.db.selectFrom('step_checkpoints').select('step').execute();
      expect(checkpoints).toEqual([]);
      expect(alive(gateway!.pid!)).toBe(true);

      const rescuer = await startRescuer(app);
      try {
        const fleet = await waitForFleet(app, token, ['active', 'error'], 30_000);
        expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
        const outputs = Object.fromEntries(
          (await app.database.db.selectFrom('step_checkpoints').select(['step', 'output']).execute()).map((c) => [c.step, c.output]),
        );
        // The fleet's machine is the gateway the dead worker claimed, taken over, not restarted.
        expect((outputs.vm_create as unknown as LocalMachine).root).toBe(gateway!.root);
        expect(outputs.gateway_start).toMatchObject({ pid: gateway!.pid, warm: true });
        // Nothing of the dead process stays: no claim, no row it owned (a refill it had begun is reaped).
        await waitFor(
          async () => (await listOfHost(app.database.db, hostId)).every((r) => r.state !== 'claimed' && r.ownerPid !== child.pid),
          30_000,
          "the dead worker's pool rows reaped",
        );
        expect(alive(orphaned!.pid!)).toBe(false);
        expect(fs.existsSync(orphaned!.root)).toBe(false);
      } finally {
        await rescuer.stop();
      }
    } finally {
      stopChild();
      await app.close();
    }
  });
});

describe('a worker killed while it makes a pooled machine', () => {
  it('leaves a row and nothing on disk, and the next worker reaps the row', { timeout: 60_000 }, async () => {
    const env = { FLEET_WARM_POOL: '1' };
    const app: TestApp = await createTestApp({ env });
    let stopChild = () => {};
    try {
      // Killed right after the pool recorded a machine, before making it.
      const child = spawnWorkerProcess(app, { FLEET_TEST_FAULTS: 'warm_machine:kill', ...env });
      stopChild = child.kill;
      expect(await child.died, child.stderr()).toBe('SIGKILL');
      const hostId = app.settings.hostId;
      const [left, ...more] = await listOfHost(app.database.db, hostId);
      expect(more).toEqual([]);
      expect(left).toMatchObject({ state: 'starting', ownerPid: child.pid });
      // Made after its row, the machine is not there: nothing that no row names, under a
      // directory the orphan check does not look into.
      const warmDir = path.join(app.dataDir, 'fleets', '.warm');
      expect(fs.existsSync(left!.root)).toBe(false);
      expect(fs.existsSync(warmDir) ? fs.readdirSync(warmDir) : []).toEqual([]);
      if (left!.osUser) expect(lookupUser(left!.osUser)).toBeUndefined();

      const rescuer = await startRescuer(app);
      try {
        await waitFor(
          async () => {
            const rows = await listOfHost(app.database.db, hostId);
            return rows.length === 1 && rows[0]!.id !== left!.id && rows[0]!.state === 'ready';
          },
          30_000,
          "the dead worker's row reaped and the pool filled again",
        );
        const [row] = await listOfHost(app.database.db, hostId);
        // The machines of the pool (`.services` holds their service records).
        expect(fs.readdirSync(warmDir).filter((n) => !n.startsWith('.'))).toEqual([path.basename(row!.root)]);
      } finally {
        await rescuer.stop();
      }
    } finally {
      stopChild();
      await app.close();
    }
  });
});

describe('a worker process stopped with SIGTERM', () => {
  it('stops the unclaimed pooled gateways it started and leaves no pool rows', { timeout: 60_000 }, async () => {
    const app: TestApp = await createTestApp({});
    try {
      const { child } = spawnWorkerProcess(app, { FLEET_WARM_POOL: '1' });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const hostId = app.settings.hostId;
      await waitFor(
        async () => (await listOfHost(app.database.db, hostId)).some((r) => r.state === 'ready'),
        30_000,
        'a ready pooled gateway',
      );
      const [pooled] = await listOfHost(app.database.db, hostId);
      expect(alive(pooled!.pid!)).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(alive(pooled!.pid!)).toBe(false);
      expect(fs.existsSync(pooled!.root)).toBe(false);
      expect(await listOfHost(app.database.db, hostId)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
