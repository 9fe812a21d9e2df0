import { sql } from 'kysely';
import type { Db } from './connection.ts';
import { cleanOutsideJson, cleanOutsideText } from './outside-text.ts';
import { logEntryCtes, namedLogEntryCtes, notifyFromEv } from './provision-log.ts';
import { relaxedCommit } from './relaxed-commit.ts';
import type { MachineRecord } from '../domain/fleet.ts';
import type { RunKind } from '../domain/run-kinds.ts';
import type { StepName } from '../domain/steps.ts';

/**
 * A step's completion as ONE statement (one round trip, atomic on its own): its checkpoint, the
 * fleet's new machine details if any, its `complete` log entry, the event and its NOTIFY — only
 * while `worker` still owns the run (a worker whose run was handed to another writes nothing).
 * With `next`, the same statement also writes the next step's `running` entry (after this one's in
 * the log): one commit between two steps instead of two. A crash after it leaves that step
 * `running` without a checkpoint, which is where a resumed run starts anyway.
 *
 * With `flush: false` the commit does not wait for the WAL flush (relaxed-commit.ts). Safe because
 * steps are idempotent: a database crash can lose only the completions of its last ≈ 600 ms, and
 * a lost one is a step run again. The executor relaxes only short steps' checkpoints (redoing one
 * costs less than the flush saved) and never a run's last commit, which, the WAL being ordered,
 * makes every earlier relaxed one durable too. A worker killed at any point loses nothing.
 * Returns false when it no longer owns the run.
 */
export async function recordStepComplete(
  db: Db,
  s: {
    fleetId: string;
    tenantId: string;
    runId: string;
    worker: string;
    kind: RunKind;
    step: StepName;
    position: number;
    output: Record<string, unknown>;
    message: string;
    durationMs: number;
    machine?: MachineRecord;
    /** The step that runs next, whose `running` entry this statement writes too. */
    next?: StepName;
    /** The Control UI's new URL (a machine started again at another address). */
    dashboardUrl?: string;
    /** false: commit without waiting for the WAL flush (see above); default true. */
    flush?: boolean;
    /** The caller's transaction holds the fleet's row lock already (the statement need not take it). */
    fleetLocked?: boolean;
    /**
     * The run's last step: the same statement finishes the run `complete` (as finishRun would),
     * only while this worker owns it.
     */
    endsRun?: boolean;
  },
): Promise<boolean> {
  // Outputs and machine records carry what outside parties answered (bot ids, addresses).
  const machine = s.machine ? JSON.stringify(cleanOutsideJson(s.machine)) : null;
  const output = JSON.stringify(cleanOutsideJson(s.output));
  const dashboardUrl = s.dashboardUrl === undefined ? null : cleanOutsideText(s.dashboardUrl, 2000);
  const owned = sql`EXISTS (SELECT 1 FROM o)`;
  // A completion that changes the fleet's row locks it before the run's, the order every verb
  // takes them in (a cancel racing a finishing vm_create would otherwise deadlock with it): `f`
  // is a condition of `o`, so PostgreSQL takes the fleet's lock before it reads the run's row.
  const changesFleet = machine !== null || dashboardUrl !== null;
  const lockFleet = changesFleet && !s.fleetLocked;
  const statement = sql<{ owned: boolean }>`
    WITH ${lockFleet ? sql`f AS (SELECT 1 FROM fleets WHERE id = ${s.fleetId} FOR UPDATE), ` : sql``}o AS (
      ${s.endsRun ? sql`UPDATE provision_runs SET status = 'complete', finished_at = now(), error = NULL, failed_step = NULL` : sql`SELECT 1 FROM provision_runs`}
      WHERE id = ${s.runId} AND worker = ${s.worker} AND status = 'running'${lockFleet ? sql` AND EXISTS (SELECT 1 FROM f)` : sql``}
      ${s.endsRun ? sql`RETURNING 1` : sql`FOR UPDATE`}
    ), c AS (
      INSERT INTO step_checkpoints (fleet_id, kind, step, position, run_id, output)
      SELECT ${s.fleetId}, ${s.kind}, ${s.step}, ${s.position}, ${s.runId}, ${output}::jsonb WHERE ${owned}
      ON CONFLICT (fleet_id, kind, step) DO NOTHING
    ), m AS (
      UPDATE fleets SET machine = COALESCE(${machine}::jsonb, machine), dashboard_url = COALESCE(${dashboardUrl}::text, dashboard_url),
        updated_at = now()
      WHERE id = ${s.fleetId} AND (${machine}::jsonb IS NOT NULL OR ${dashboardUrl}::text IS NOT NULL) AND ${owned}
    ), ${logEntryCtes({ ...s, status: 'complete' }, owned)}${
      s.next
        ? sql`, ${namedLogEntryCtes({ ...s, step: s.next, status: 'running', message: null, durationMs: null }, owned, {
            log: 'next_l',
            event: 'next_ev',
            after: { log: 'l', event: 'ev' },
          })}`
        : sql``
    }
    SELECT ${owned} AS owned, ${notifyFromEv(s.tenantId)} AS notified${
      s.next ? sql`, ${notifyFromEv(s.tenantId, 'next_ev')} AS next_notified` : sql``
    }${s.flush === false ? sql`, ${relaxedCommit} AS relaxed` : sql``}`;
  return (await statement.execute(db)).rows[0]?.owned === true;
}
