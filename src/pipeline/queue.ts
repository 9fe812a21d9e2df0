import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';
import type { Db } from '../db/connection.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * The durable queue of provision runs, on pg-boss in the same database. A job only says "work on
 * run X"; who owns the run is decided by `claimRun` in provision_runs, so a duplicate job (from
 * the watchdog, or a job whose worker died) is harmless.
 */
export const RUN_QUEUE = 'provision-run';

export interface RunJob {
  runId: string;
}

/** Lets pg-boss write its job row through our transaction: the run and its job commit together. */
const executorFor = (db: Db) => ({
  executeSql: async (text: string, values: unknown[]) => {
    const result = await db.executeQuery(CompiledQuery.raw(text, values));
    return { rows: result.rows as unknown[] };
  },
});

export class RunQueue {
  private stopping = false;
  private constructor(readonly boss: PgBoss) {}

  static async start(url: string, log: Logger): Promise<RunQueue> {
    const boss = new PgBoss({
      connectionString: url,
      schema: 'pgboss',
      max: 4,
      // Our watchdog resumes dead runs within seconds; pg-boss's expiry is only a last resort.
      expireInHours: 6,
      retryLimit: 0,
      archiveCompletedAfterSeconds: 3600,
    });
    let queue: RunQueue | undefined;
    boss.on('error', (err) => {
      // A connection the server ends while we stop (57P01, "terminating connection due to
      // administrator command") is the stop itself, not an error.
      if (queue?.stopping && (err as { code?: string }).code === '57P01') return log.debug({ err }, 'job queue connection closed on stop');
      log.error({ err }, 'job queue error');
    });
    await boss.start();
    // A plain queue, no singleton keys: pg-boss's `stately` policy would hold a re-sent job back
    // while the dead worker's job still counts as active (until its expiry). Duplicates are
    // harmless anyway: whoever fails to claim the run drops the job.
    await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, policy: 'standard', retryLimit: 0, expireInHours: 6 });
    queue = new RunQueue(boss);
    return queue;
  }

  /** Enqueues work on a run; pass the transaction that created the run. `afterSeconds` holds it back that long. */
  async enqueue(db: Db, runId: string, opts: { afterSeconds?: number } = {}): Promise<void> {
    await this.boss.send(RUN_QUEUE, { runId } satisfies RunJob, {
      db: executorFor(db),
      ...(opts.afterSeconds ? { startAfter: opts.afterSeconds } : {}),
    });
  }

  async work(concurrency: number, handler: (job: RunJob) => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < concurrency; i++) {
      let id = '';
      id = await this.boss.work<RunJob>(RUN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
        if (job) await handler(job.data);
        // pg-boss waits out its polling interval after every job, even with more queued; a
        // notification makes it fetch again at once (it still waits when the queue is empty).
        if (job && id) this.boss.notifyWorker(id);
      });
      ids.push(id);
    }
    return ids;
  }

  /** Wakes this process's idle workers now instead of at their next poll. */
  wake(workerIds: string[]): void {
    for (const id of workerIds) this.boss.notifyWorker(id);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // Short: a stopping worker has already handed its runs back (pipeline/worker.ts), so nothing
    // worth waiting for is still running, and the process must be gone within 10 s.
    await this.boss.stop({ graceful: true, wait: true, timeout: 3000 });
  }
}
