import { hostname } from 'node:os';
import { listCheckpoints } from '../db/checkpoints.ts';
import type { Db } from '../db/connection.ts';
import { applyTransition } from '../db/fleet-transition.ts';
import { getFleet } from '../db/fleets.ts';
import { appendLog, appendLogAsOwner } from '../db/provision-log.ts';
import { claimRunFairly } from '../db/fair-claim.ts';
import { finishRun, heartbeatRun, LostRunError, recordCrash } from '../db/runs.ts';
import { getSecrets } from '../db/secrets.ts';
import { recordStepComplete } from '../db/step-complete.ts';
import { getTenant } from '../db/tenants.ts';
import { joinSettings, type StoredSettings } from '../domain/fleet-settings.ts';
import { StepFailure, toError } from '../domain/step-errors.ts';
import type { ProvisionStep } from '../domain/steps.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { injectFault } from './faults.ts';
import type { PipelineSettings } from './settings.ts';
import type { StepContext, StepDefinition, StepResult } from './step.ts';
import { RunMachine } from './run-machine.ts';
import { machineRelative } from './shown-paths.ts';
import { runStepWithRetries } from './step-runner.ts';

/**
 * Executes one provision run: claims it, then runs each step that has no checkpoint yet, in
 * order. Invariants:
 *  - a step's checkpoint, its `complete` log entry and any fleet update commit together, so a
 *    replay either skips the step or runs it again — never half;
 *  - only the owner writes: a worker that loses its claim (its heartbeat found another owner)
 *    stops without writing anything more;
 *  - every way out of a step (result, error, timeout) ends in a log entry.
 */
export interface ExecutorDeps {
  db: Db;
  steps: StepDefinition[];
  settings: PipelineSettings;
  log: Logger;
  metrics?: Metrics;
  workerId?: string;
}

/** Claims of one run that crash outside a step before it ends in error (the watchdog re-enqueues each). */
export const MAX_RUN_ATTEMPTS = 5;

export const defaultWorkerId = () => `${hostname()}:${process.pid}`;

export async function executeRun(deps: ExecutorDeps, runId: string): Promise<'done' | 'not-claimed' | 'deferred' | 'lost'> {
  const { db, settings } = deps;
  const worker = deps.workerId ?? defaultWorkerId();
  const run = await claimRunFairly(db, runId, worker, settings.staleAfterSeconds, settings.planLimits);
  // Its requester has its plan's runs at work already: the worker slot goes to someone else's run.
  if (run === 'requester-busy') return 'deferred';
  if (!run) return 'not-claimed';
  const log = deps.log.child({ runId, fleetId: run.fleet_id });

  const ownership = new AbortController();
  const beat = setInterval(() => {
    heartbeatRun(db, runId, worker).then(
      (mine) => mine || ownership.abort(new Error('another worker took this run over')),
      (err: unknown) => log.warn({ err }, 'heartbeat failed'),
    );
  }, settings.heartbeatMs);
  beat.unref();

  let machine: RunMachine | undefined;
  let current: ProvisionStep = deps.steps[0]?.name ?? 'vm_create';
  /** Every message this run stores, as the tenant may see it: no server paths (shown-paths.ts). */
  const shown = async (message: string) =>
    machineRelative(message, {
      machineRoot: await machine?.openedRoot(),
      dataDir: settings.dataDir,
      runtimeCacheDir: settings.runtimeCacheDir,
    });
  try {
    const fleet = await getFleet(db, run.fleet_id);
    // Independent reads, side by side on the pool.
    const [tenant, secrets, checkpoints] = await Promise.all([
      getTenant(db, fleet.tenant_id),
      getSecrets(db, settings.box, fleet.id),
      listCheckpoints(db, fleet.id),
    ]);
    const request = joinSettings(fleet.repos, fleet.settings as StoredSettings, secrets);
    const outputs: StepContext['outputs'] = {};
    for (const c of checkpoints) outputs[c.step as ProvisionStep] = c.output;
    machine = new RunMachine({ db, box: settings.box, drivers: settings.drivers, fleetId: fleet.id, driverName: fleet.compute_driver });
    /** The run's last words: its log entry, the run and the fleet in `error`, in one commit while still the owner. */
    const endInError = (step: ProvisionStep, message: string, durationMs: number | null) =>
      ifStillOwner(() =>
        db.transaction().execute(async (trx) => {
          await finishRun(trx, runId, worker, { status: 'error', error: message, failedStep: step });
          await appendLog(trx, { fleetId: fleet.id, tenantId: tenant.id, runId, step, status: 'error', message, durationMs });
          await applyTransition(trx, fleet.id, 'fail');
        }),
      );
    // Where this run stands: the first step without a usable checkpoint (none, or at another position).
    current = deps.steps.find((s, i) => !checkpoints.some((c) => c.step === s.name && c.position === i))?.name ?? current;
    if (run.attempts > MAX_RUN_ATTEMPTS) {
      // A poison run: every worker that took it crashed outside a step. Stop the loop, say why.
      const message =
        `Run ${runId} stopped after ${run.attempts - 1} attempts that each failed outside a step` +
        `${run.last_crash ? ` (last: ${run.last_crash})` : ''}. Retry the fleet; if it fails the same way, report run ${runId}.`;
      log.error({ attempts: run.attempts - 1, lastCrash: run.last_crash }, 'run keeps crashing; it ends in error');
      return (await endInError(current, await shown(message), null)) ? 'done' : 'lost';
    }

    for (const [position, step] of deps.steps.entries()) {
      current = step.name;
      const done = checkpoints.find((c) => c.step === step.name);
      if (done) {
        // A checkpoint written by another list of steps would replay the wrong output.
        if (done.position !== position) throw new Error(`checkpoint of ${step.name} is at position ${done.position}, expected ${position}`);
        continue;
      }
      if (ownership.signal.aborted) return 'lost';
      const entry = { fleetId: fleet.id, tenantId: tenant.id, runId, step: step.name };
      if (!(await appendLogAsOwner(db, { ...entry, status: 'running', message: null, durationMs: null }, worker))) return 'lost';
      const started = performance.now();
      const ctx: StepContext = {
        db,
        fleet,
        tenant,
        request,
        outputs,
        settings,
        machine,
        signal: ownership.signal,
        log: log.child({ step: step.name }),
        progress: async (message) => {
          await appendLogAsOwner(db, { ...entry, status: 'running', message: await shown(message), durationMs: null }, worker);
        },
      };

      let result: StepResult;
      try {
        result = await runStepWithRetries(step, ctx, settings.stepTimeouts[step.name] ?? step.timeoutMs, () =>
          injectFault(settings.faults, step.name),
        );
      } catch (thrown) {
        if (ownership.signal.aborted) return 'lost';
        const err = toError(thrown);
        // A bug or an unclassified error: say which step and run, not a stack trace.
        const message = await shown(
          err instanceof StepFailure
            ? err.message
            : `${step.name} failed unexpectedly (${err.message}). Retry the fleet; if it fails the same way, report run ${runId}.`,
        );
        const durationMs = Math.round(performance.now() - started);
        log.warn({ err, step: step.name }, 'step failed; run ends in error');
        deps.metrics?.stepDuration.observe({ step: step.name, status: 'error' }, durationMs / 1000);
        return (await endInError(step.name, message, durationMs)) ? 'done' : 'lost';
      }

      if (ownership.signal.aborted) return 'lost';
      const durationMs = Math.round(performance.now() - started);
      deps.metrics?.stepDuration.observe({ step: step.name, status: 'complete' }, durationMs / 1000);
      const completion = {
        ...entry,
        worker,
        position,
        output: result.output,
        message: await shown(result.message),
        durationMs,
        machine: result.fleetUpdate?.machine,
      };
      if (step.name === 'complete') {
        // The last step also ends the run and makes the fleet active: all in one commit.
        const ended = await ifStillOwner(() =>
          db.transaction().execute(async (trx) => {
            if (!(await recordStepComplete(trx, completion))) throw new LostRunError(runId);
            await finishRun(trx, runId, worker, { status: 'complete' });
            await applyTransition(trx, fleet.id, 'succeed', { dashboardUrl: result.fleetUpdate?.dashboardUrl ?? null });
          }),
        );
        if (!ended) return 'lost';
      } else if (!(await recordStepComplete(db, completion))) {
        return 'lost';
      }
      outputs[step.name] = result.output;
    }
    return 'done';
  } catch (thrown) {
    // Outside a step (a checkpoint at the wrong position, a secret that no longer decrypts, the
    // database gone): the run stays running and the watchdog hands it on; note why, so the claim
    // after MAX_RUN_ATTEMPTS can end it with this message instead of looping forever.
    if (!(thrown instanceof LostRunError) && !ownership.signal.aborted) {
      const crash = await shown(`${current}: ${toError(thrown).message}`).catch(() => `${current}: crashed`);
      await recordCrash(db, runId, worker, crash.slice(0, 1000)).catch(() => undefined);
    }
    throw thrown;
  } finally {
    clearInterval(beat);
    await machine?.close().catch((err: unknown) => log.warn({ err }, 'closing the machine connection failed'));
  }
}

/** Runs a write that must only happen while this worker owns the run; false when it no longer does. */
async function ifStillOwner(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (e) {
    if (e instanceof LostRunError) return false;
    throw e;
  }
}
