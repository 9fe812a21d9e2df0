import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { claimRunFairly } from '../../src/db/fair-claim.ts';
import { appendLogAsOwner } from '../../src/db/provision-log.ts';
import { claimRun } from '../../src/db/runs.ts';
import type { Database } from '../../src/db/schema.ts';
import { DEFAULT_PLAN_LIMITS } from '../../src/domain/plans.ts';
import { recordStepComplete } from '../../src/db/step-complete.ts';
import type { ProvisionStep } from '../../src/domain/steps.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { executeRun } from '../../src/pipeline/executor.ts';
import { pipelineSettings } from '../../src/pipeline/settings.ts';
import type { StepDefinition } from '../../src/pipeline/step.ts';
import { SecretBox } from '../../src/secrets/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../harness/db.ts';
import { fleetWithQueuedRun } from '../harness/queued-run.ts';

/**
 * Between two steps the executor commits once: the finished step's checkpoint and `complete`
 * entry and the next step's `running` entry are one transaction (same xmin), in log order.
 */
let database: TestDatabase;
const settings = pipelineSettings(loadConfig({ NODE_ENV: 'test' }), new SecretBox(randomBytes(32)));
const log = createLogger('silent');

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const fleetWithRun = (checkpoints?: Parameters<typeof fleetWithQueuedRun>[1]) => fleetWithQueuedRun(database.db, checkpoints);

const quickSteps = (names: ProvisionStep[]): StepDefinition[] =>
  names.map((name) => ({ name, timeoutMs: 5000, run: async () => ({ message: `${name} ok`, output: {} }) }));

async function logOf(runId: string) {
  const { rows } = await sql<{ step: string; status: string; tx: string }>`
    SELECT step, status, xmin::text AS tx FROM provision_log WHERE run_id = ${runId} ORDER BY id`.execute(database.db);
  return rows;
}

describe('commits between steps', () => {
  it("writes the next step's running entry in the commit of the previous step's completion", async () => {
    const { runId } = await fleetWithRun();
    const names: ProvisionStep[] = ['vm_create', 'workspace_bootstrap', 'agent_config'];
    expect(await executeRun({ db: database.db, steps: quickSteps(names), settings, log }, runId)).toBe('done');
    const entries = await logOf(runId);
    expect(entries.map((e) => `${e.step}:${e.status}`)).toEqual(names.flatMap((s) => [`${s}:running`, `${s}:complete`]));
    // complete(i) and running(i + 1) share a transaction: one commit per step, plus the first running entry.
    for (let i = 1; i < names.length; i++) expect(entries[2 * i]!.tx).toBe(entries[2 * i - 1]!.tx);
    expect(new Set(entries.map((e) => e.tx)).size).toBe(names.length + 1);
  });

  it('does not mark a checkpointed next step as running', async () => {
    const { runId } = await fleetWithRun([{ step: 'workspace_bootstrap', position: 1 }]);
    const names: ProvisionStep[] = ['vm_create', 'workspace_bootstrap', 'agent_config'];
    expect(await executeRun({ db: database.db, steps: quickSteps(names), settings, log }, runId)).toBe('done');
    expect((await logOf(runId)).map((e) => `${e.step}:${e.status}`)).toEqual([
      'vm_create:running',
      'vm_create:complete',
      'agent_config:running',
      'agent_config:complete',
    ]);
  });

  it('writes neither entry for a worker that no longer owns the run', async () => {
    const { fleetId, tenantId, runId } = await fleetWithRun();
    await claimRun(database.db, runId, 'worker-b', 10);
    const step = { fleetId, tenantId, runId, kind: 'provision' as const, position: 0, output: {}, message: 'done', durationMs: 1 };
    const completion = { ...step, step: 'vm_create' as const, next: 'workspace_bootstrap' as const };
    expect(await recordStepComplete(database.db, { ...completion, worker: 'worker-a' })).toBe(false);
    expect(await logOf(runId)).toEqual([]);
    expect(await recordStepComplete(database.db, { ...completion, worker: 'worker-b' })).toBe(true);
    expect((await logOf(runId)).map((e) => `${e.step}:${e.status}`)).toEqual(['vm_create:complete', 'workspace_bootstrap:running']);
  });

  it('lets a claim, a running line and a relaxed completion commit without waiting for the WAL flush', async () => {
    const { fleetId, tenantId, runId } = await fleetWithRun();
    const durability = async (write: (trx: typeof database.db) => Promise<unknown>) =>
      database.db.transaction().execute(async (trx) => {
        // The test cluster runs without flushes altogether: start from the production default.
        await sql`SET LOCAL synchronous_commit = on`.execute(trx);
        await write(trx);
        return (await sql<{ synchronous_commit: string }>`SHOW synchronous_commit`.execute(trx)).rows[0]?.synchronous_commit;
      });
    await database.db.updateTable('provision_runs').set({ requested_by: 'user_x' }).where('id', '=', runId).execute();
    expect(await durability((trx) => claimRunFairly(trx, runId, 'worker-a', 10, DEFAULT_PLAN_LIMITS, 'host-a'))).toBe('off');
    const line = { fleetId, tenantId, runId, step: 'vm_create' as const, status: 'running' as const, message: null, durationMs: null };
    expect(await durability((trx) => appendLogAsOwner(trx, line, 'worker-a'))).toBe('off');
    const completion = { fleetId, tenantId, runId, kind: 'provision' as const, step: 'vm_create' as const, position: 0 };
    const done = { ...completion, worker: 'worker-a', output: {}, message: 'done', durationMs: 1, next: 'workspace_bootstrap' as const };
    expect(await durability((trx) => recordStepComplete(trx, done))).toBe('on');
    expect(await durability((trx) => recordStepComplete(trx, { ...done, step: 'workspace_bootstrap', position: 1, flush: false }))).toBe(
      'off',
    );
  });

  it("flushes a long step's checkpoint and the run's end, not a short step's", async () => {
    const { runId } = await fleetWithRun();
    const names: ProvisionStep[] = ['vm_create', 'workspace_bootstrap', 'agent_config'];
    const slow = new Set<string>(['workspace_bootstrap']);
    const steps: StepDefinition[] = names.map((name) => ({
      name,
      timeoutMs: 5000,
      run: async () => {
        if (slow.has(name)) await new Promise((r) => setTimeout(r, 60));
        return { message: `${name} ok`, output: {} };
      },
    }));
    // Every statement the run sends, as compiled: a relaxed commit names synchronous_commit in it.
    const sent: string[] = [];
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: database.pool }), log: (e) => void sent.push(e.query.sql) });
    const watched = { ...settings, checkpointFlushAfterMs: 50 };
    expect(await executeRun({ db, steps, settings: watched, log }, runId)).toBe('done');
    const completions = sent
      .filter((q) => q.includes('INSERT INTO step_checkpoints'))
      .map((q) => (q.includes("set_config('synchronous_commit', 'off', true)") ? 'off' : 'on'));
    // vm_create (quick): relaxed; workspace_bootstrap (60 ms ≥ 50): flushed; agent_config ends the run: flushed.
    expect(completions).toEqual(['off', 'on', 'on']);
  });
});

describe('lock order', () => {
  // Every verb (cancel, suspend, a claim that binds a fleet to its host) locks the fleet's row, then
  // the run's. A completion that also changes the fleet must take them in that order too, or a cancel
  // racing a finishing vm_create deadlocks with it and one side fails (a 500, or a run left to the watchdog).
  it("takes the fleet's lock before the run's when a completion changes the fleet", async () => {
    const { fleetId, tenantId, runId } = await fleetWithRun();
    expect(await claimRun(database.db, runId, 'worker-a', 10)).toBeTruthy();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const fleetLocked = new Promise<void>((r) => (locked = r));
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`SELECT 1 FROM fleets WHERE id = ${fleetId} FOR UPDATE`.execute(trx);
      locked();
      await released;
    });
    await fleetLocked;
    const completion = recordStepComplete(database.db, {
      fleetId,
      tenantId,
      runId,
      kind: 'provision',
      step: 'vm_create',
      position: 0,
      worker: 'worker-a',
      output: {},
      message: 'machine ready',
      durationMs: 1,
      machine: { driver: 'local', name: 'm', zone: null, ip: null },
      next: 'workspace_bootstrap',
    });
    await new Promise((r) => setTimeout(r, 300));
    // While the completion waits for the fleet, it must not be holding the run.
    const free = await database.db
      .transaction()
      .execute(async (trx) => {
        await sql`SET LOCAL lock_timeout = '200ms'`.execute(trx);
        await sql`SELECT 1 FROM provision_runs WHERE id = ${runId} FOR UPDATE`.execute(trx);
        return true;
      })
      .catch(() => false);
    expect(free).toBe(true);
    release();
    await holder;
    expect(await completion).toBe(true);
  });
});
