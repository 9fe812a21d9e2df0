import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVISION_STEPS, type ProvisionStep } from '../../src/domain/steps.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { executeRun } from '../../src/pipeline/executor.ts';
import type { StepContext, StepDefinition } from '../../src/pipeline/step.ts';
import { createTestApp, type TestApp } from '../harness/app.ts';

/**
 * A replay trusts a step's checkpoint only when it was written at the same position in the list
 * of steps: a checkpoint from another list would feed the wrong output to the steps after it.
 * Real database and provisioning API; the steps are recorders, run by executeRun directly.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp(); // no workers: the queued runs wait for the test to execute them
});
afterAll(() => t?.close());

/** Steps with the real names, in the real order, that record what they ran and what they saw. */
function recordingSteps() {
  const ran: ProvisionStep[] = [];
  const saw: Partial<Record<ProvisionStep, StepContext['outputs']>> = {};
  const steps: StepDefinition[] = PROVISION_STEPS.map((name) => ({
    name,
    timeoutMs: 10_000,
    run: async (ctx) => {
      ran.push(name);
      saw[name] = structuredClone(ctx.outputs);
      return { message: `${name} done`, output: { by: name } };
    },
  }));
  return { steps, ran, saw };
}

/** A fleet provisioned through the API: `provisioning`, with its run queued. */
async function provisionedFleet(userId: string): Promise<{ fleetId: string; runId: string }> {
  const res = await t.request('/api/fleet/provision', {
    method: 'POST',
    token: t.token({ userId }),
    json: { templateId: 'solo-engineer' },
  });
  expect(res.status).toBe(202);
  const row = await t.database.db
    .selectFrom('provision_runs')
    .innerJoin('fleets', 'fleets.id', 'provision_runs.fleet_id')
    .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
    .select(['fleets.id as fleetId', 'provision_runs.id as runId', 'provision_runs.status'])
    .where('tenants.clerk_user_id', '=', userId)
    .executeTakeFirstOrThrow();
  expect(row.status).toBe('queued');
  return { fleetId: row.fleetId, runId: row.runId };
}

async function storeCheckpoint(fleetId: string, step: ProvisionStep, position: number, output: Record<string, unknown>) {
  await t.database.db
    .insertInto('step_checkpoints')
    .values({ fleet_id: fleetId, step, position, run_id: 'run_earlier', output: JSON.stringify(output) })
    .execute();
}

const deps = (steps: StepDefinition[]) => ({
  db: t.database.db,
  steps,
  settings: t.settings,
  log: createLogger('silent'),
  workerId: 'test-worker',
});

const stepsLogged = async (runId: string) =>
  (await t.database.db.selectFrom('provision_log').select(['step', 'status']).where('run_id', '=', runId).orderBy('id').execute()).map(
    (e) => `${e.step}:${e.status}`,
  );

describe('executeRun and stored checkpoints', () => {
  it('refuses a checkpoint stored at another position, before running the step after it', async () => {
    const { fleetId, runId } = await provisionedFleet('user_cp_mismatch');
    await storeCheckpoint(fleetId, 'vm_create', 0, { machine: 'local' });
    // workspace_bootstrap is step 1 of this list; its checkpoint says another list had it at 3.
    await storeCheckpoint(fleetId, 'workspace_bootstrap', 3, { by: 'a different list of steps' });
    const { steps, ran } = recordingSteps();

    await expect(executeRun(deps(steps), runId)).rejects.toThrow('checkpoint of workspace_bootstrap is at position 3, expected 1');

    expect(ran).toEqual([]); // vm_create was checkpointed, agent_config and later never started
    expect(await stepsLogged(runId)).toEqual([]);
    const checkpoints = await t.database.db
      .selectFrom('step_checkpoints')
      .select(['step', 'position'])
      .where('fleet_id', '=', fleetId)
      .orderBy('position')
      .execute();
    expect(checkpoints).toEqual([
      { step: 'vm_create', position: 0 },
      { step: 'workspace_bootstrap', position: 3 },
    ]);
    const fleet = await t.database.db.selectFrom('fleets').select('status').where('id', '=', fleetId).executeTakeFirstOrThrow();
    expect(fleet.status).not.toBe('active');
  });

  it('skips a step whose checkpoint matches, giving its stored output to the steps after it', async () => {
    const { fleetId, runId } = await provisionedFleet('user_cp_match');
    const stored = { machine: { driver: 'local', dir: '/from/an/earlier/run' }, note: 'checkpointed' };
    await storeCheckpoint(fleetId, 'vm_create', 0, stored);
    const { steps, ran, saw } = recordingSteps();

    await expect(executeRun(deps(steps), runId)).resolves.toBe('done');

    expect(ran).toEqual(PROVISION_STEPS.filter((s) => s !== 'vm_create'));
    expect(saw.workspace_bootstrap).toEqual({ vm_create: stored });
    // Outputs accumulate: a step sees the checkpoint and what ran before it in this run.
    expect(saw.agent_config).toEqual({ vm_create: stored, workspace_bootstrap: { by: 'workspace_bootstrap' } });
    expect(saw.complete?.vm_create).toEqual(stored);

    const logged = await stepsLogged(runId);
    expect(logged.filter((e) => e.startsWith('vm_create'))).toEqual([]); // not run, not logged again
    expect(logged.filter((e) => e.endsWith(':complete'))).toEqual(ran.map((s) => `${s}:complete`));
    const run = await t.database.db.selectFrom('provision_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run.status).toBe('complete');
    const fleet = await t.database.db.selectFrom('fleets').select('status').where('id', '=', fleetId).executeTakeFirstOrThrow();
    expect(fleet.status).toBe('active');
    // The stored checkpoint is kept as it was, not overwritten by the replay.
    const cp = await t.database.db
      .selectFrom('step_checkpoints')
      .select(['output', 'run_id'])
      .where('fleet_id', '=', fleetId)
      .where('step', '=', 'vm_create')
      .executeTakeFirstOrThrow();
    expect(cp).toEqual({ output: stored, run_id: 'run_earlier' });
  });
});
