import { sql, type Selectable } from 'kysely';
import { RUN_COLUMNS } from './columns.ts';
import type { Db } from './connection.ts';
import { cleanOutsideText } from './outside-text.ts';
import type { ProvisionRunsTable, RunOptions } from './schema.ts';
import { newId } from '../domain/ids.ts';
import type { RunKind } from '../domain/run-kinds.ts';

/** Provision runs: created queued, claimed by one worker at a time, kept alive by heartbeats. */
export type RunRow = Selectable<ProvisionRunsTable>;

/** The fleet's queued or running run, if any (at most one: a unique partial index says so). */
export async function activeRun(db: Db, fleetId: string): Promise<RunRow | undefined> {
  return db
    .selectFrom('provision_runs')
    .select(RUN_COLUMNS)
    .where('fleet_id', '=', fleetId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
}

export async function insertRun(
  db: Db,
  fleetId: string,
  kind: RunKind,
  opts: { retry?: boolean; requestedBy?: string | null; options?: RunOptions } = {},
): Promise<RunRow> {
  return db
    .insertInto('provision_runs')
    .values({
      id: newId('run'),
      fleet_id: fleetId,
      kind,
      retry: opts.retry ?? false,
      status: 'queued',
      requested_by: opts.requestedBy ?? null,
      options: JSON.stringify(opts.options ?? {}),
    })
    .returning(RUN_COLUMNS)
    .executeTakeFirstOrThrow();
}

/** The fleet's newest run that ended (in error, cancelled or complete): what a retry retries. */
export async function lastEndedRun(db: Db, fleetId: string): Promise<RunRow | undefined> {
  return db
    .selectFrom('provision_runs')
    .select(RUN_COLUMNS)
    .where('fleet_id', '=', fleetId)
    .where('status', 'in', ['complete', 'error', 'cancelled'])
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Asks the run's worker to stop at its next safe point (its heartbeat reads this). */
export async function requestCancel(db: Db, runId: string, by: string): Promise<void> {
  await db
    .updateTable('provision_runs')
    .set({ cancel_requested_by: sql`COALESCE(cancel_requested_by, ${by})` })
    .where('id', '=', runId)
    .execute();
}

/**
 * Ends a queued run as cancelled, nobody having started it: only while it is still queued (a
 * worker that claimed it meanwhile stops at its next safe point instead). True when it did.
 */
export async function cancelQueuedRun(db: Db, runId: string, error: string): Promise<boolean> {
  const res = await db
    .updateTable('provision_runs')
    .set({ status: 'cancelled', finished_at: sql`now()`, error: cleanOutsideText(error) })
    .where('id', '=', runId)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Takes ownership of a run for `worker`: a queued run, or a running one whose owner stopped
 * heartbeating `staleAfterSeconds` ago (it died). Returns undefined when someone else holds it
 * or it has finished — the caller must then leave it alone. With `bindTo`, the same statement
 * records the host as the fleet's machine host if it has none yet, only when the claim succeeded.
 */
export async function claimRun(
  db: Db,
  runId: string,
  worker: string,
  staleAfterSeconds: number,
  bindTo?: { fleetId: string; hostId: string },
): Promise<RunRow | undefined> {
  const claim = (q: Pick<Db, 'updateTable'>) =>
    q
      .updateTable('provision_runs')
      .set({
        status: 'running',
        worker,
        heartbeat_at: sql`now()`,
        started_at: sql`COALESCE(started_at, now())`,
        attempts: sql`attempts + 1`,
      })
      .where('id', '=', runId)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'queued'),
          eb.and([eb('status', '=', 'running'), eb('heartbeat_at', '<', sql<Date>`now() - make_interval(secs => ${staleAfterSeconds})`)]),
        ]),
      )
      .returning(RUN_COLUMNS);
  if (!bindTo) return claim(db).executeTakeFirst();
  // One round trip: the bind sees the claim's result through the CTE (both in one snapshot).
  return db
    .with('claimed', (q) => claim(q))
    .with('bound', (q) =>
      q
        .updateTable('fleets')
        .set({ machine_host: bindTo.hostId })
        .where('id', '=', bindTo.fleetId)
        .where('machine_host', 'is', null)
        .where(sql<boolean>`EXISTS (SELECT 1 FROM claimed)`),
    )
    .selectFrom('claimed')
    .select(RUN_COLUMNS)
    .executeTakeFirst() as Promise<RunRow | undefined>;
}

/**
 * Renews the claim: `lost` means another worker took the run over and this one must stop; a
 * cancel request is handed back with it (the same round trip), so a cancel reaches the worker
 * within one heartbeat.
 */
export async function heartbeatRun(
  db: Db,
  runId: string,
  worker: string,
): Promise<{ lost: true } | { lost: false; cancelRequestedBy: string | null }> {
  const row = await db
    .updateTable('provision_runs')
    .set({ heartbeat_at: sql`now()` })
    .where('id', '=', runId)
    .where('worker', '=', worker)
    .where('status', '=', 'running')
    .returning('cancel_requested_by')
    .executeTakeFirst();
  return row ? { lost: false, cancelRequestedBy: row.cancel_requested_by } : { lost: true };
}

export class LostRunError extends Error {
  constructor(runId: string) {
    super(`run ${runId} is no longer owned by this worker`);
    this.name = 'LostRunError';
  }
}

/** Ends a run this worker owns; throws LostRunError (rolling back the caller's transaction) otherwise. */
export async function finishRun(
  db: Db,
  runId: string,
  worker: string,
  outcome: { status: 'complete' } | { status: 'error' | 'cancelled'; error: string; failedStep: string },
): Promise<void> {
  const res = await db
    .updateTable('provision_runs')
    .set({
      status: outcome.status,
      finished_at: sql`now()`,
      error: outcome.status === 'complete' ? null : cleanOutsideText(outcome.error),
      failed_step: outcome.status === 'complete' ? null : outcome.failedStep,
    })
    .where('id', '=', runId)
    .where('worker', '=', worker)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) throw new LostRunError(runId);
}

/**
 * Takes the runs nobody is working on — running with a silent owner, or queued for a while with no
 * taker — back to `queued` (owner cleared, so a silent owner that wakes up finds its heartbeat
 * refused and stops), stamping heartbeat_at as "re-enqueued at": in one statement, so many
 * watchdogs sweeping at once re-enqueue each run once, not once each.
 */
export async function takeOrphanedRuns(db: Db, staleAfterSeconds: number, queuedForSeconds: number): Promise<Array<{ id: string }>> {
  const { rows } = await sql<{ id: string }>`
    UPDATE provision_runs SET status = 'queued', worker = NULL, heartbeat_at = now()
    WHERE id IN (
      SELECT id FROM provision_runs
      WHERE (status = 'running' AND heartbeat_at < now() - make_interval(secs => ${staleAfterSeconds}))
         OR (status = 'queued' AND COALESCE(heartbeat_at, created_at) < now() - make_interval(secs => ${queuedForSeconds}))
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id`.execute(db);
  return rows;
}

/** Notes why this worker's attempt at a run crashed outside a step; the next claim may give up on it. */
export async function recordCrash(db: Db, runId: string, worker: string, message: string): Promise<void> {
  await db
    .updateTable('provision_runs')
    .set({ last_crash: cleanOutsideText(message, 1000) })
    .where('id', '=', runId)
    .where('worker', '=', worker)
    .execute();
}

/** Runs waiting for a worker: the queue depth every worker and API process reports. */
export async function countQueuedRuns(db: Db): Promise<number> {
  const row = await db
    .selectFrom('provision_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'queued')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Gives back every run `worker` holds, as a stopping worker does: queued again at once, owner
 * cleared (the stopping worker's own late writes are then refused as a lost claim), so another
 * worker takes them now instead of after the stale timeout. Returns the runs given back.
 */
export async function releaseRunsOf(db: Db, worker: string): Promise<Array<{ id: string }>> {
  return db
    .updateTable('provision_runs')
    .set({ status: 'queued', worker: null, heartbeat_at: sql`now()` })
    .where('worker', '=', worker)
    .where('status', '=', 'running')
    .returning('id')
    .execute();
}
