import type { Db } from '../db/connection.ts';
import { releaseRunsOf, takeOrphanedRuns } from '../db/runs.ts';
import type { Logger } from '../observability/logger.ts';
import { defaultWorkerId, type ExecutorDeps, executeRun } from './executor.ts';
import type { RunQueue } from './queue.ts';
import { startWarmPool, type WarmPool } from './warm-pool.ts';

/**
 * A worker process's loop: pg-boss hands out run jobs; the executor claims and runs them. A
 * watchdog re-enqueues runs whose worker stopped heartbeating (killed, machine lost) or that sat
 * queued with no taker, so a dead run resumes within seconds on any live worker.
 */
export interface RunningWorker {
  id: string;
  /** This process's warm pool (FLEET_WARM_POOL > 0 and a local driver), stopped with the worker. */
  warmPool: WarmPool | undefined;
  /**
   * Fast path for a run just committed in this process: start it now if a slot is free, instead
   * of waiting for pg-boss to hand its job out (≈ 15 ms). The job stays queued for durability;
   * whoever fetches it later fails to claim the run and drops it. Otherwise wakes the workers.
   */
  offer(runId: string): void;
  /** True from start until stop() is called: a stopping worker takes no new runs (readiness). */
  isRunning(): boolean;
  stop(): Promise<void>;
}

/** How long a run deferred for fair scheduling waits before it is offered again. */
const DEFER_SECONDS = 3;
/**
 * How long a stopping worker waits for its runs' steps to end after aborting them: a step that
 * watches its signal ends at once, one that does not is given up on by the step runner within 2 s.
 */
const HAND_BACK_WAIT_MS = 3000;

export async function startWorker(
  deps: Omit<ExecutorDeps, 'workerId'> & { queue: RunQueue; concurrency: number; watchdogMs?: number },
): Promise<RunningWorker> {
  const id = defaultWorkerId();
  const log: Logger = deps.log.child({ worker: id });
  const stopping = new AbortController();
  const executor: ExecutorDeps = { ...deps, log, workerId: id, stopping: stopping.signal };
  const inFlight = new Set<Promise<unknown>>();

  const execute = (runId: string) => {
    // A job fetched while stopping: its run is still queued and its job is used up; queue another.
    if (stopping.signal.aborted) return deps.queue.enqueue(deps.db, runId).catch(() => undefined);
    const p = executeRun(executor, runId).then(
      async (outcome) => {
        log.debug({ runId, outcome }, 'run handled');
        // Deferred for fairness: offered again later, behind the runs queued meanwhile.
        if (outcome === 'deferred') await deps.queue.enqueue(deps.db, runId, { afterSeconds: DEFER_SECONDS });
        // Its machine is another host's (a job sent before the fleet was bound): to that host's queue.
        if (outcome === 'other-host') await deps.queue.enqueue(deps.db, runId);
      },
      // One bad run never stops the loop; the watchdog gives it to a worker again.
      (err: unknown) => log.error({ err, runId }, 'run crashed; it will be resumed'),
    );
    inFlight.add(p);
    return p.finally(() => inFlight.delete(p));
  };
  // At most `concurrency` runs at once, whichever queue (shared, or this host's) a job came from.
  let busy = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (busy < deps.concurrency) busy++;
    else await new Promise<void>((r) => waiting.push(r)); // release() hands its slot over
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };
  const workerIds = await deps.queue.work(deps.concurrency, async ({ runId }) => {
    await acquire();
    try {
      await execute(runId);
    } finally {
      release();
    }
  });

  const watchdog = setInterval(() => {
    void sweep(deps.db, deps.queue, deps.settings.staleAfterSeconds, log);
  }, deps.watchdogMs ?? 3000);
  watchdog.unref();
  void sweep(deps.db, deps.queue, deps.settings.staleAfterSeconds, log);
  const warmPool = startWarmPool({ db: deps.db, settings: deps.settings, log });
  log.info({ concurrency: deps.concurrency }, 'worker started');

  return {
    id,
    warmPool,
    offer: (runId) => {
      if (busy < deps.concurrency) {
        busy++;
        void execute(runId).finally(release);
      } else deps.queue.wake(workerIds);
    },
    isRunning: () => !stopping.signal.aborted,
    stop: async () => {
      clearInterval(watchdog);
      // Hand the runs back at once rather than let them wait out the stale timeout: abort their
      // steps, give the claims up, and queue a job for each, so another worker resumes them now.
      // A long step (a runtime install) is not waited for; steps are idempotent, so the next
      // worker simply runs it again.
      stopping.abort(new Error('the worker is stopping; the run is handed to another worker'));
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, HAND_BACK_WAIT_MS).unref())]);
      try {
        const released = await releaseRunsOf(deps.db, id);
        for (const run of released) await deps.queue.enqueue(deps.db, run.id);
        if (released.length > 0) log.info({ runs: released.map((r) => r.id) }, 'runs handed back to the queue');
      } catch (err) {
        // The database is gone: the runs wait for the stale timeout instead, as after a crash.
        log.warn({ err }, 'handing runs back failed; another worker resumes them after the stale timeout');
      }
      // After the runs: a step that was taking a pooled gateway over has let go of it by now.
      await warmPool?.stop().catch((err: unknown) => log.warn({ err }, 'stopping the warm pool failed'));
    },
  };
}

async function sweep(db: Db, queue: RunQueue, staleAfterSeconds: number, log: Logger): Promise<void> {
  try {
    const runs = await takeOrphanedRuns(db, staleAfterSeconds, Math.max(30, staleAfterSeconds * 3));
    for (const { id } of runs) {
      log.warn({ runId: id }, 'run has no live worker; re-enqueueing it');
      await queue.enqueue(db, id);
    }
  } catch (err) {
    log.warn({ err }, 'watchdog sweep failed');
  }
}
