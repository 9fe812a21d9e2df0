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

/**
 * Runs of a fleet whose local-driver machine lives on one host go to that host's own queue, which
 * only its workers work on: a worker elsewhere never even fetches them (fleets.machine_host).
 */
export const hostQueueName = (hostId: string) => `${RUN_QUEUE}@${hostId}`;

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

const QUEUE_OPTIONS = { policy: 'standard', retryLimit: 0, expireInHours: 6 } as const;

export class RunQueue {
  private stopping = false;
  /** Host queues known to exist (pg-boss refuses a job for a queue not created). */
  private readonly created = new Set<string>();
  private constructor(
    readonly boss: PgBoss,
    /** This process's host (FLEET_HOST_ID): its workers also work on its host queue. */
    readonly hostId: string,
  ) {}

  static async start(url: string, log: Logger, hostId = 'localhost'): Promise<RunQueue> {
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
    await boss.createQueue(RUN_QUEUE, { name: RUN_QUEUE, ...QUEUE_OPTIONS });
    queue = new RunQueue(boss, hostId);
    await queue.ensureQueue(hostQueueName(hostId));
    return queue;
  }

  private async ensureQueue(name: string): Promise<void> {
    if (this.created.has(name)) return;
    await this.boss.createQueue(name, { name, ...QUEUE_OPTIONS });
    this.created.add(name);
  }

  /**
   * Enqueues work on a run, on its host's queue when its fleet's machine is bound to one; pass the
   * transaction that created the run. `afterSeconds` holds it back that long. `host`: the caller
   * read the fleet's machine host under the fleet's lock already (null: none, or not a local
   * machine), so the queue need not read it again.
   */
  async enqueue(db: Db, runId: string, opts: { afterSeconds?: number; host?: string | null } = {}): Promise<void> {
    const host = opts.host !== undefined ? opts.host : await this.hostOfRun(db, runId);
    const name = host ? hostQueueName(host) : RUN_QUEUE;
    if (host) await this.ensureQueue(name);
    await this.boss.send(name, { runId } satisfies RunJob, {
      db: executorFor(db),
      ...(opts.afterSeconds ? { startAfter: opts.afterSeconds } : {}),
    });
  }

  private async hostOfRun(db: Db, runId: string): Promise<string | null> {
    const { rows } = await db.executeQuery<{ machine_host: string | null }>(
      CompiledQuery.raw(
        `SELECT f.machine_host FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id
          WHERE r.id = $1 AND f.compute_driver = 'local'`,
        [runId],
      ),
    );
    return rows[0]?.machine_host ?? null;
  }

  /**
   * Starts `pollers` fetch loops on the shared queue and as many on this host's queue. The caller
   * bounds how many runs are worked on at once: a poller's handler may wait for a free slot.
   */
  async work(pollers: number, handler: (job: RunJob) => Promise<void>): Promise<string[]> {
    const ids: string[] = [];
    for (const name of [RUN_QUEUE, hostQueueName(this.hostId)]) {
      for (let i = 0; i < pollers; i++) {
        let id = '';
        id = await this.boss.work<RunJob>(name, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
          if (job) await handler(job.data);
          // pg-boss waits out its polling interval after every job, even with more queued; a
          // notification makes it fetch again at once (it still waits when the queue is empty).
          if (job && id) this.boss.notifyWorker(id);
        });
        ids.push(id);
      }
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
