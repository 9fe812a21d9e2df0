import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRun, finishRun, insertRun, LostRunError, takeOrphanedRuns } from '../../src/db/runs.ts';
import { appendLogAsOwner } from '../../src/db/provision-log.ts';
import { recordStepComplete } from '../../src/db/step-complete.ts';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../harness/db.ts';

/** A worker whose run was handed to another (it went silent, not dead) must write nothing more. */
let database: TestDatabase;
let fleetId: string;
let tenantId: string;
beforeAll(async () => {
  database = await createTestDatabase();
  [{ tenantId, fleetId }] = (await tenantsWithFleets(database.db, ['own'])) as [{ tenantId: string; fleetId: string }];
});
afterAll(() => database.drop());

describe('run ownership', () => {
  it("binds the fleet to the claiming worker's host in the claim, and only when the claim succeeds", async () => {
    const { db } = database;
    const hostOf = async () =>
      (await db.selectFrom('fleets').select('machine_host').where('id', '=', fleetId).executeTakeFirstOrThrow()).machine_host;
    const run = await insertRun(db, fleetId, 'provision');
    expect(await claimRun(db, run.id, 'worker-a', 10)).toBeDefined();
    // Held by a live worker: this claim fails, and binds nothing.
    expect(await claimRun(db, run.id, 'worker-b', 10, { fleetId, hostId: 'host-b' })).toBeUndefined();
    expect(await hostOf()).toBeNull();
    await finishRun(db, run.id, 'worker-a', { status: 'complete' });
    const next = await insertRun(db, fleetId, 'provision');
    expect((await claimRun(db, next.id, 'worker-b', 10, { fleetId, hostId: 'host-b' }))?.worker).toBe('worker-b');
    expect(await hostOf()).toBe('host-b');
    await finishRun(db, next.id, 'worker-b', { status: 'complete' });
    await db.updateTable('fleets').set({ machine_host: null }).where('id', '=', fleetId).execute();
  });

  it('refuses the writes of a worker that lost its run to the watchdog, and lets the new owner write', async () => {
    const { db } = database;
    const run = await insertRun(db, fleetId, 'provision');
    expect(await claimRun(db, run.id, 'worker-a', 10)).toBeDefined();
    expect(await claimRun(db, run.id, 'worker-b', 10)).toBeUndefined(); // a live owner keeps it

    // worker-a goes silent: its heartbeat ages past the limit; a watchdog hands the run back.
    await db
      .updateTable('provision_runs')
      .set({ heartbeat_at: new Date(Date.now() - 60_000) })
      .where('id', '=', run.id)
      .execute();
    expect(await takeOrphanedRuns(db, 10, 30)).toEqual([{ id: run.id }]);
    expect(await takeOrphanedRuns(db, 10, 30)).toEqual([]); // once, not once per sweep
    expect(await claimRun(db, run.id, 'worker-b', 10)).toBeDefined();

    const step = {
      fleetId,
      tenantId,
      runId: run.id,
      kind: 'provision' as const,
      step: 'vm_create' as const,
      position: 0,
      output: {},
      message: 'done',
      durationMs: 5,
    };
    expect(await recordStepComplete(db, { ...step, worker: 'worker-a' })).toBe(false);
    await expect(finishRun(db, run.id, 'worker-a', { status: 'complete' })).rejects.toThrow(LostRunError);
    expect(await recordStepComplete(db, { ...step, worker: 'worker-b' })).toBe(true);

    const log = await db.selectFrom('provision_log').select(['step', 'status']).where('run_id', '=', run.id).execute();
    expect(log).toEqual([{ step: 'vm_create', status: 'complete' }]);
    const checkpoints = await db.selectFrom('step_checkpoints').select('step').where('fleet_id', '=', fleetId).execute();
    expect(checkpoints).toEqual([{ step: 'vm_create' }]);

    // Nor its running entry or progress lines: the new owner's log stays its own.
    const line = { fleetId, tenantId, runId: run.id, step: 'workspace_bootstrap' as const, status: 'running' as const, durationMs: null };
    expect(await appendLogAsOwner(db, { ...line, message: 'stale worker progress' }, 'worker-a')).toBe(false);
    expect(await appendLogAsOwner(db, { ...line, message: 'owner progress' }, 'worker-b')).toBe(true);
    const messages = await db
      .selectFrom('provision_log')
      .select('message')
      .where('run_id', '=', run.id)
      .where('step', '=', 'workspace_bootstrap')
      .execute();
    expect(messages.map((m) => m.message)).toEqual(['owner progress']);

    // The last step's completion, which also ends the run: the stale worker ends nothing.
    const last = { ...step, step: 'complete' as const, position: 5, endsRun: true };
    const runStatus = async () =>
      (await db.selectFrom('provision_runs').select(['status', 'finished_at']).where('id', '=', run.id).executeTakeFirstOrThrow()).status;
    expect(await recordStepComplete(db, { ...last, worker: 'worker-a' })).toBe(false);
    expect(await runStatus()).toBe('running');
    expect(await recordStepComplete(db, { ...last, worker: 'worker-b' })).toBe(true);
    expect(await runStatus()).toBe('complete');
    // Ended: no completion of its is written again, by anyone.
    expect(await recordStepComplete(db, { ...last, step: 'connectivity_check' as const, position: 4, worker: 'worker-b' })).toBe(false);
  });
});
