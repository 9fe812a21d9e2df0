import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { ProvisionStep } from '../../src/domain/steps.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { executeRun, MAX_RUN_ATTEMPTS } from '../../src/pipeline/executor.ts';
import { pipelineSettings } from '../../src/pipeline/settings.ts';
import type { StepContext, StepDefinition } from '../../src/pipeline/step.ts';
import { SecretBox } from '../../src/secrets/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../harness/db.ts';
import { fleetWithQueuedRun } from '../harness/queued-run.ts';

/**
 * Replay from checkpoints: a step with a checkpoint is not run again and later steps see its
 * stored output; a checkpoint written at another position (by another list of steps) is refused
 * before it can replay the wrong output.
 */
let database: TestDatabase;
const settings = pipelineSettings(loadConfig({ NODE_ENV: 'test' }), new SecretBox(randomBytes(32)));
const log = createLogger('silent');

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const fleetWithRun = (checkpoints?: Parameters<typeof fleetWithQueuedRun>[1]) => fleetWithQueuedRun(database.db, checkpoints);

/** Steps that record that they ran and what they saw of the earlier steps' outputs. */
function recordingSteps(names: ProvisionStep[]) {
  const ran: string[] = [];
  const seen: Record<string, StepContext['outputs']> = {};
  const steps: StepDefinition[] = names.map((name) => ({
    name,
    timeoutMs: 5000,
    run: async (ctx) => {
      ran.push(name);
      seen[name] = { ...ctx.outputs };
      return { message: `${name} ok`, output: { from: name } };
    },
  }));
  return { steps, ran, seen };
}

describe('checkpoints on replay', () => {
  it('skips a step with a checkpoint at its position and hands its stored output to the next step', async () => {
    const { runId } = await fleetWithRun([{ step: 'vm_create', position: 0, output: { stored: true } }]);
    const { steps, ran, seen } = recordingSteps(['vm_create', 'workspace_bootstrap']);
    expect(await executeRun({ db: database.db, steps, settings, log }, runId)).toBe('done');
    expect(ran).toEqual(['workspace_bootstrap']);
    expect(seen.workspace_bootstrap?.vm_create).toEqual({ stored: true });
  });

  it('refuses a checkpoint written at another position, before running anything after it', async () => {
    const { runId } = await fleetWithRun([{ step: 'vm_create', position: 1, output: { stored: true } }]);
    const { steps, ran } = recordingSteps(['vm_create', 'workspace_bootstrap']);
    await expect(executeRun({ db: database.db, steps, settings, log }, runId)).rejects.toThrow(
      'checkpoint of vm_create is at position 1, expected 0',
    );
    expect(ran).toEqual([]);
  });

  it('a run that keeps failing outside a step ends in error after MAX_RUN_ATTEMPTS claims, saying why, instead of looping', async () => {
    const { runId, fleetId } = await fleetWithRun([{ step: 'vm_create', position: 1, output: {} }]);
    const { steps, ran } = recordingSteps(['vm_create', 'workspace_bootstrap']);
    const deps = { db: database.db, steps, settings, log };
    for (let i = 0; i < MAX_RUN_ATTEMPTS; i++) {
      await expect(executeRun(deps, runId)).rejects.toThrow(/checkpoint of vm_create is at position 1/);
      // What the watchdog does with a run whose worker went silent.
      await database.db.updateTable('provision_runs').set({ status: 'queued', worker: null }).where('id', '=', runId).execute();
    }
    expect(await executeRun(deps, runId)).toBe('done');
    expect(ran).toEqual([]);
    const run = await database.db.selectFrom('provision_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'error', failed_step: 'vm_create', attempts: MAX_RUN_ATTEMPTS + 1 });
    expect(run.error).toBe(
      `Run ${runId} stopped after ${MAX_RUN_ATTEMPTS} attempts that each failed outside a step (last: vm_create: checkpoint of vm_create ` +
        `is at position 1, expected 0). Retry the fleet; if it fails the same way, report run ${runId}.`,
    );
    const fleet = await database.db.selectFrom('fleets').select('status').where('id', '=', fleetId).executeTakeFirstOrThrow();
    expect(fleet.status).toBe('error');
    const entry = await database.db.selectFrom('provision_log').selectAll().where('run_id', '=', runId).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ step: 'vm_create', status: 'error', message: run.error });
  });
});
