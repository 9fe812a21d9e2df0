import { hostname } from 'node:os';
import { listCheckpoints } from '../db/checkpoints.ts';
import type { Db } from '../db/connection.ts';
import { applyTransition } from '../db/fleet-transition.ts';
import { getFleet, lockFleetRow } from '../db/fleets.ts';
import { appendLog, appendLogAsOwner } from '../db/provision-log.ts';
import { claimRunFairly } from '../db/fair-claim.ts';
import { finishRun, heartbeatRun, LostRunError, recordCrash } from '../db/runs.ts';
import { getSecrets } from '../db/secrets.ts';
import { recordStepComplete } from '../db/step-complete.ts';
import { getTenantOfFleet } from '../db/tenants.ts';
import { joinSettings, type StoredSettings } from '../domain/fleet-settings.ts';
import { StepFailure, toError } from '../domain/step-errors.ts';
import type { RunKind } from '../domain/run-kinds.ts';
import { REPROVISION_TEARDOWN_STEPS, type StepName } from '../domain/steps.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { injectFault } from './faults.ts';
import { endRun } from './run-end.ts';
import type { PipelineSettings } from './settings.ts';
import type { StepContext, StepDefinition, StepResult } from './step.ts';
import { RunMachine } from './run-machine.ts';
import { machineRelative } from './shown-paths.ts';
import { cancelledMessage, unexpectedMessage } from './step-messages.ts';
import { runStepWithRetries } from './step-runner.ts';
import { LIFECYCLE_STEPS, type LifecycleSteps } from './steps/index.ts';

/**
 * Executes one run of any kind: claims it, then runs each step of its kind that has no checkpoint
 * yet, in order; the last step's completion ends the run the way its kind declares
 * (domain/run-kinds.ts, pipeline/run-end.ts). Invariants:
 *  - a step's checkpoint, its `complete` log entry and any fleet update commit together, so a
 *    replay either skips the step or runs it again — never half;
 *  - only the owner writes: a worker that loses its claim (its heartbeat found another owner)
 *    stops without writing anything more;
 *  - every way out of a step (result, error, timeout, cancel) ends in a log entry;
 *  - a cancel request (read with each heartbeat) aborts the running step through its signal and
 *    ends the run `cancelled`, the fleet in `error`: a retry resumes at that step.
 */
export interface ExecutorDeps {
  db: Db;
  /** The provision steps (tests give their own). */
  steps: StepDefinition[];
  /** The steps of the other kinds; default LIFECYCLE_STEPS. */
  lifecycleSteps?: LifecycleSteps;
  settings: PipelineSettings;
  log: Logger;
  metrics?: Metrics;
  workerId?: string;
  /** Aborted when this worker process stops: the run's step is aborted and the run is left to be handed back. */
  stopping?: AbortSignal;
}

/** Claims of one run that crash outside a step before it ends in error (the watchdog re-enqueues each). */
export const MAX_RUN_ATTEMPTS = 5;

export const defaultWorkerId = () => `${hostname()}:${process.pid}`;

export async function executeRun(
  deps: ExecutorDeps,
  runId: string,
): Promise<'done' | 'not-claimed' | 'deferred' | 'lost' | 'handed-back' | 'other-host'> {
  const { db, settings } = deps;
  const stopping = deps.stopping ?? new AbortController().signal;
  if (stopping.aborted) return 'handed-back';
  const worker = deps.workerId ?? defaultWorkerId();
  const run = await claimRunFairly(db, runId, worker, settings.staleAfterSeconds, settings.planLimits, settings.hostId);
  // Its requester has its plan's runs at work already: the worker slot goes to someone else's run.
  if (run === 'requester-busy') return 'deferred';
  // Its machine lives on another host: that host's workers take it (the caller re-sends its job there).
  if (run === 'other-host') return 'other-host';
  if (!run) return 'not-claimed';
  const log = deps.log.child({ runId, fleetId: run.fleet_id, kind: run.kind });
  const steps = stepsOf(deps, run.kind);

  const ownership = new AbortController();
  const cancellation = new AbortController();
  let cancelledBy = run.cancel_requested_by;
  if (cancelledBy) cancellation.abort(new Error(`cancelled by ${cancelledBy}`));
  const beat = setInterval(() => {
    heartbeatRun(db, runId, worker).then(
      (beatResult) => {
        if (beatResult.lost) ownership.abort(new Error('another worker took this run over'));
        else if (beatResult.cancelRequestedBy && !cancellation.signal.aborted) {
          cancelledBy = beatResult.cancelRequestedBy;
          cancellation.abort(new Error(`cancelled by ${cancelledBy}`));
        }
      },
      (err: unknown) => log.warn({ err }, 'heartbeat failed'),
    );
  }, settings.heartbeatMs);
  beat.unref();
  // What a step sees: aborted when the run is lost or cancelled.
  const stepSignal = AbortSignal.any([ownership.signal, cancellation.signal, stopping]);

  let machine: RunMachine | undefined;
  let current: StepName = steps[0]?.name ?? 'vm_create';
  /** Every message this run stores, as the tenant may see it: no server paths (shown-paths.ts). */
  const shown = async (message: string) =>
    machineRelative(message, {
      machineRoot: await machine?.openedRoot(),
      dataDir: settings.dataDir,
      runtimeCacheDir: settings.runtimeCacheDir,
    });
  try {
    // Independent reads, side by side on the pool (one round trip's wait, not two). A lifecycle
    // run reads the provision's checkpoints too (vm_create's machine), and its own kind's.
    const [fleet, tenant, secrets, checkpoints] = await Promise.all([
      getFleet(db, run.fleet_id),
      getTenantOfFleet(db, run.fleet_id),
      getSecrets(db, settings.box, run.fleet_id),
      listCheckpoints(db, run.fleet_id, run.kind === 'provision' ? ['provision'] : ['provision', run.kind]),
    ]);
    const own = checkpoints.filter((c) => c.kind === run.kind);
    const request = joinSettings(fleet.repos, fleet.settings as StoredSettings, secrets);
    const outputs: StepContext['outputs'] = {};
    for (const c of [...checkpoints.filter((c) => c.kind !== run.kind), ...own]) outputs[c.step as StepName] = c.output;
    machine = new RunMachine({ db, box: settings.box, drivers: settings.drivers, fleetId: fleet.id, driverName: fleet.compute_driver });
    /** The run's last words: its log entry, the run and the fleet in `error`, in one commit while still the owner. */
    const endInError = (step: StepName, message: string, durationMs: number | null, status: 'error' | 'cancelled' = 'error') =>
      ifStillOwner(() =>
        db.transaction().execute(async (trx) => {
          const locked = await lockFleetRow(trx, fleet.id); // fleet before run, as every verb locks them
          await finishRun(trx, runId, worker, { status, error: message, failedStep: step });
          await appendLog(trx, { fleetId: fleet.id, tenantId: tenant.id, runId, step, status: 'error', message, durationMs });
          await applyTransition(trx, fleet.id, 'fail', locked ? { locked } : {});
        }),
      );
    const endCancelled = async (step: StepName, durationMs: number | null) => {
      const message = cancelledMessage(step, cancelledBy ?? undefined);
      log.info({ step, cancelledBy }, 'run cancelled');
      return (await endInError(step, message, durationMs, 'cancelled')) ? 'done' : 'lost';
    };
    // Where this run stands: the first step without a usable checkpoint (none, or at another position).
    current = steps.find((s, i) => !own.some((c) => c.step === s.name && c.position === i))?.name ?? current;
    if (run.attempts > MAX_RUN_ATTEMPTS) {
      // A poison run: every worker that took it crashed outside a step. Stop the loop, say why.
      const message =
        `Run ${runId} stopped after ${run.attempts - 1} attempts that each failed outside a step` +
        `${run.last_crash ? ` (last: ${run.last_crash})` : ''}. Retry the fleet; if it fails the same way, report run ${runId}.`;
      log.error({ attempts: run.attempts - 1, lastCrash: run.last_crash }, 'run keeps crashing; it ends in error');
      return (await endInError(current, await shown(message), null)) ? 'done' : 'lost';
    }

    /** The step whose `running` entry the previous step's completion wrote already (same commit). */
    let announced: StepName | undefined;
    for (const [position, step] of steps.entries()) {
      current = step.name;
      const last = position === steps.length - 1;
      const done = own.find((c) => c.step === step.name);
      if (done) {
        // A checkpoint written by another list of steps would replay the wrong output.
        if (done.position !== position) throw new Error(`checkpoint of ${step.name} is at position ${done.position}, expected ${position}`);
        continue;
      }
      if (ownership.signal.aborted) return 'lost';
      // A stopping worker starts nothing new: the run goes back to the queue as it stands.
      if (stopping.aborted) return 'handed-back';
      // The safe point between two steps: nothing of the next one has started.
      if (cancellation.signal.aborted) return endCancelled(step.name, null);
      const entry = { fleetId: fleet.id, tenantId: tenant.id, runId, step: step.name };
      if (
        announced !== step.name &&
        !(await appendLogAsOwner(db, { ...entry, status: 'running', message: null, durationMs: null }, worker))
      )
        return 'lost';
      const started = performance.now();
      const ctx: StepContext = {
        db,
        fleet,
        tenant,
        request,
        run: { id: run.id, kind: run.kind, options: run.options },
        outputs,
        settings,
        machine,
        signal: stepSignal,
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
        // Aborted by the worker's stop, not failed: the next worker runs this step again.
        if (stopping.aborted) return 'handed-back';
        const durationMs = Math.round(performance.now() - started);
        if (cancellation.signal.aborted) return endCancelled(step.name, durationMs);
        const err = toError(thrown);
        // A bug or an unclassified error: say which step and run, not a stack trace.
        const message = await shown(err instanceof StepFailure ? err.message : unexpectedMessage(step.name, err, runId));
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
        kind: run.kind,
        position,
        output: result.output,
        message: await shown(result.message),
        durationMs,
        machine: result.fleetUpdate?.machine,
        dashboardUrl: result.fleetUpdate?.dashboardUrl,
      };
      if (last) {
        // The last step also ends the run and the fleet the way its kind says: all in one commit.
        const ended = await ifStillOwner(() =>
          db.transaction().execute(async (trx) => {
            const locked = await lockFleetRow(trx, fleet.id); // fleet before run, as every verb locks them
            // The checkpoint, the log entry and the run's end in one statement.
            if (!(await recordStepComplete(trx, { ...completion, fleetLocked: true, endsRun: true }))) throw new LostRunError(runId);
            await endRun(trx, { run, fleet, tenant, result, ...(locked ? { locked } : {}) });
          }),
        );
        return ended ? 'done' : 'lost';
      }
      // The next step's `running` entry rides on this commit, unless it is checkpointed already or
      // the run is being cancelled (then the next step must not look started).
      const next = steps[position + 1];
      announced = next && !own.some((c) => c.step === next.name) && !stepSignal.aborted ? next.name : undefined;
      // A short step's checkpoint need not wait for the WAL flush: losing it in a database crash
      // costs less to redo than the flush (step-complete.ts); the run's last commit always flushes.
      const flush = durationMs >= settings.checkpointFlushAfterMs;
      if (!(await recordStepComplete(db, { ...completion, flush, ...(announced ? { next: announced } : {}) }))) return 'lost';
      outputs[step.name] = result.output;
    }
    // Every step had a checkpoint already (nothing left to do): the run still ends as its kind says.
    const ended = await ifStillOwner(() =>
      db.transaction().execute(async (trx) => {
        const locked = await lockFleetRow(trx, fleet.id); // fleet before run, as every verb locks them
        await finishRun(trx, runId, worker, { status: 'complete' });
        await endRun(trx, { run, fleet, tenant, result: undefined, ...(locked ? { locked } : {}) });
      }),
    );
    return ended ? 'done' : 'lost';
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

/** The steps a run of `kind` executes, in order; a reprovision rebuilds with the executor's provision steps. */
function stepsOf(deps: ExecutorDeps, kind: RunKind): StepDefinition[] {
  if (kind === 'provision') return deps.steps;
  const steps = (deps.lifecycleSteps ?? LIFECYCLE_STEPS)[kind];
  if (kind !== 'reprovision') return steps;
  return [...steps.filter((s) => (REPROVISION_TEARDOWN_STEPS as readonly string[]).includes(s.name)), ...deps.steps];
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
