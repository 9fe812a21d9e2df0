import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GcpMachine } from '../../src/compute/driver.ts';
import { vmNameFor } from '../../src/compute/gcp-driver.ts';
import { gcpPoolOf, listOfHost } from '../../src/db/warm-gateways.ts';
import { createTestApp, startRescuer, type TestApp } from '../harness/app.ts';
import { removePooledVms } from '../harness/gcp-pooled-vms.ts';
import { GCP_ZONES, type GcpWorld, startGcpWorld } from '../harness/gcp-vm.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { waitFor, waitForFleet } from '../harness/wait.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';

/**
 * A `fleet worker` on FLEET_COMPUTE=gcp, configured by its environment alone, fills its zone's
 * pool and is SIGKILLed right after its claim on a pooled VM committed (fault point
 * `warm_claim`): the run's next worker finds the VM claimed for the fleet, makes it the fleet's
 * and takes its running gateway over; no second VM is made for the fleet.
 */
let world: GcpWorld;

beforeAll(async () => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
  world = await startGcpWorld({ portPerVm: true });
}, 120_000);

afterAll(async () => {
  if (world) await removePooledVms(world);
  await world?.close();
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('a GCP worker killed mid-claim', () => {
  it('leaves the claimed VM to the run, which resumes on it without a VM of its own', { timeout: 120_000 }, async () => {
    const env = {
      FLEET_HEARTBEAT_SECONDS: '0.5',
      FLEET_STALE_AFTER_SECONDS: '3',
      FLEET_WARM_POOL: '1',
      FLEET_WARM_RELOAD_TIMEOUT_MS: '5000',
    };
    // No worker in this process: the doomed child fills its pool, claims, and dies.
    const app: TestApp = await createTestApp({ env: { ...world.env(), ...env }, drivers: { gcp: world.driver }, computeDriver: 'gcp' });
    const zone = GCP_ZONES[0]!;
    let stopChild = () => {};
    try {
      const child = spawnWorkerProcess(app, {
        FLEET_TEST_FAULTS: 'warm_claim:kill',
        ...world.env(),
        ...env,
        // One zone: its VMs all get FLEET_GCP_GATEWAY_PORT, and here every "VM" is this machine.
        FLEET_GCP_ZONES: zone,
      });
      stopChild = child.kill;
      const pool = () => listOfHost(app.database.db, gcpPoolOf(zone));
      await waitFor(async () => (await pool()).some((r) => r.state === 'ready'), 60_000, 'a ready pooled VM');

      const token = app.token({ userId: 'user_gwarm_kill' });
      expect((await app.request('/api/fleet/provision', { method: 'POST', token, json: { templateId: 'solo-engineer' } })).status).toBe(
        202,
      );
      expect(await child.died, child.stderr()).toBe('SIGKILL');
      const claimed = (await pool()).filter((r) => r.state === 'claimed');
      expect(claimed).toHaveLength(1);
      const [vm] = claimed;
      // Killed after the claim and before vm_create's checkpoint: the claim is all there is, the VM still the pool's.
      expect(await app.database.db.selectFrom('step_checkpoints').select('step').execute()).toEqual([]);
      expect(world.gce.instance(zone, vm!.vmName!)!.labels).toEqual({ 'managed-by': 'agent-fleet', pool: vm!.id });

      const rescuer = await startRescuer(app);
      try {
        const fleet = await waitForFleet(app, token, ['active', 'error'], 60_000);
        expect(fleet.status, JSON.stringify(fleet.provisionLog, null, 1)).toBe('active');
        const outputs = Object.fromEntries(
          (await app.database.db.selectFrom('step_checkpoints').select(['step', 'output']).execute()).map((c) => [c.step, c.output]),
        );
        const machine = outputs.vm_create as unknown as GcpMachine;
        expect(machine).toMatchObject({ vmName: vm!.vmName, zone, root: vm!.root });
        expect(outputs.gateway_start).toMatchObject({ pid: vm!.pid, warm: true });
        const { id: fleetId, slug } = await app.database.db
          .selectFrom('fleets')
          .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
          .select(['fleets.id', 'tenants.slug'])
          .executeTakeFirstOrThrow();
        expect(world.gce.instance(zone, vm!.vmName!)!.labels).toMatchObject({ fleet: fleetId.toLowerCase() });
        // One VM for the fleet, and never an insert of its own.
        expect(world.gce.instances().filter((i) => i.labels.fleet === fleetId.toLowerCase())).toHaveLength(1);
        const names = world.gce
          .requestsTo('POST', '/instances')
          .filter((r) => r.path.endsWith('/instances'))
          .map((r) => (r.body as { name: string }).name);
        expect(names).not.toContain(vmNameFor(slug));
        await waitFor(async () => (await pool()).every((r) => r.state !== 'claimed'), 30_000, 'the claim taken over');
      } finally {
        await rescuer.stop();
      }
    } finally {
      stopChild();
      await app.close();
    }
  });
});
