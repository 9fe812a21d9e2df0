import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, startRescuer, type TestApp } from '../harness/app.ts';
import { gatewayPortOf, localMachine, portOpen, provisionToActive, slugOfUser, waitForNoFleet } from '../harness/lifecycle.ts';
import { STANDIN_GATEWAY } from '../harness/standin-app.ts';
import { spawnWorkerProcess } from '../harness/worker-process.ts';
import { alive } from '../hosts/fixtures.ts';

/**
 * A `fleet worker` killed with SIGKILL in the middle of a deprovision: another worker resumes the
 * run from its recorded plan and finishes the job. Nothing is left behind: the proof entry is
 * written, the machine directory and the gateway process are gone, no secret rows remain.
 */
beforeAll(() => {
  process.env.FLEET_GATEWAY_COMMAND = STANDIN_GATEWAY;
});
afterAll(() => {
  delete process.env.FLEET_GATEWAY_COMMAND;
});

describe('a worker killed with SIGKILL mid-deprovision', () => {
  it.each(['machine_delete', 'secrets_destroy'])(
    'at %s: another worker finishes it, nothing left behind',
    { timeout: 90_000 },
    async (step) => {
      const env = { FLEET_HEARTBEAT_SECONDS: '0.5', FLEET_STALE_AFTER_SECONDS: '3' };
      const app: TestApp = await createTestApp({ env });
      let stopChild = () => {};
      try {
        const token = app.token({ userId: `user_kill_${step}` });
        // No worker in this process (a stopped one would still take jobs): the doomed child
        // provisions the fleet, then dies in the deprovision.
        const worker = spawnWorkerProcess(app, { FLEET_TEST_FAULTS: `${step}:kill`, ...env });
        stopChild = worker.kill;
        const fleet = await provisionToActive(app, token);
        const port = gatewayPortOf(fleet);
        const slug = await slugOfUser(app, { userId: `user_kill_${step}` });
        const machine = localMachine(app, slug);
        const { id: fleetId, tenant_id: tenantId } = await app.database.db
          .selectFrom('fleets')
          .select(['id', 'tenant_id'])
          .executeTakeFirstOrThrow();
        const gatewayPid = (
          await app.database.db
            .selectFrom('step_checkpoints')
            .select('output')
            .where('fleet_id', '=', fleetId)
            .where('step', '=', 'gateway_start')
            .executeTakeFirstOrThrow()
        ).output.pid as number;
        expect(alive(gatewayPid)).toBe(true);

        expect((await app.request('/api/fleet', { method: 'DELETE', token })).status).toBe(202);
        expect(await worker.died, worker.stderr()).toBe('SIGKILL');
        // Killed half-way: the plan is recorded, the fleet is still there, the job is not done.
        const mid = await app.database.db
          .selectFrom('step_checkpoints')
          .select('step')
          .where('fleet_id', '=', fleetId)
          .where('kind', '=', 'deprovision')
          .execute();
        expect(mid.map((c) => c.step).sort()).toEqual(
          step === 'machine_delete' ? ['deprovision_plan', 'gateway_stop'] : ['deprovision_plan', 'gateway_stop', 'machine_delete'],
        );
        expect(machine.exists()).toBe(step === 'machine_delete');

        const rescuer = await startRescuer(app);
        try {
          await waitForNoFleet(app, token, 30_000);
        } finally {
          await rescuer.stop();
        }
        expect(machine.exists()).toBe(false);
        expect(machine.recordsExist()).toBe(false);
        expect(alive(gatewayPid)).toBe(false);
        expect(await portOpen(port)).toBe(false);
        expect(await app.database.db.selectFrom('fleet_secrets').selectAll().where('fleet_id', '=', fleetId).execute()).toEqual([]);
        expect(await app.database.db.selectFrom('fleets').selectAll().execute()).toEqual([]);
        const events = await app.database.db
          .selectFrom('fleet_events')
          .select('data')
          .where('tenant_id', '=', tenantId)
          .where('type', '=', 'log')
          .execute();
        const proof = events.map((e) => e.data).filter((d) => d.step === 'deprovision_proof' && d.status === 'complete');
        expect(proof).toHaveLength(1);
        expect(proof[0]!.message).toContain(`machine directory fleets/${slug} (directory absent)`);
        const audited = await app.database.db.selectFrom('audit_log').select(['action']).where('tenant_id', '=', tenantId).execute();
        expect(audited.map((a) => a.action)).toContain('fleet.deprovisioned');
      } finally {
        stopChild();
        await app.close();
      }
    },
  );
});
