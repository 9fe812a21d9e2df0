import { type RawBuilder, sql } from 'kysely';
import type { Db } from './connection.ts';
import { EVENTS_CHANNEL, eventOrderLock } from './events.ts';
import { cleanOutsideText } from './outside-text.ts';
import { relaxedCommit } from './relaxed-commit.ts';
import type { LogStatus, StepName } from '../domain/steps.ts';

export interface LogEntry {
  fleetId: string;
  tenantId: string;
  /** Null for entries of no run (the reconciler's). */
  runId: string | null;
  step: StepName;
  status: LogStatus;
  message: string | null;
  durationMs: number | null;
}

/**
 * The CTEs `l` (the provision-log row) and `ev` (its fleet event), inserted only when `onlyIf`
 * holds. Shared by every statement that writes a log entry, so the event always carries the same
 * fields; follow with `SELECT pg_notify(...) FROM ev` (see notifyFromEv). Every message passes
 * here, so this is where what outside parties wrote into it is cleaned (outside-text.ts).
 */
export function logEntryCtes(entry: LogEntry, onlyIf: RawBuilder<unknown> = sql`true`): RawBuilder<unknown> {
  return namedLogEntryCtes(entry, onlyIf, { log: 'l', event: 'ev' });
}

/**
 * logEntryCtes under other CTE names, for a statement that writes a second entry. `after` names
 * the CTEs of the entry that must come first: this one's rows are inserted from theirs, so its
 * ids (the log's order) are drawn after theirs, whatever order PostgreSQL runs CTEs in.
 */
export function namedLogEntryCtes(
  entry: LogEntry,
  onlyIf: RawBuilder<unknown>,
  names: { log: string; event: string; after?: { log: string; event: string } },
): RawBuilder<unknown> {
  const e = { ...entry, message: entry.message === null ? null : cleanOutsideText(entry.message) };
  const l = sql.raw(names.log);
  const ev = sql.raw(names.event);
  const afterLog = names.after ? sql.raw(`FROM ${names.after.log}`) : sql.raw('');
  const afterEvent = names.after ? sql.raw(`, ${names.after.event}`) : sql.raw('');
  // The tenant's event order lock (events.ts), taken only when the entry is written: the event's
  // row is made from the lock's, so its id is drawn once the lock is held.
  const lock = sql.raw(`${names.event}_order`);
  return sql`${l} AS (
      INSERT INTO provision_log (fleet_id, run_id, step, status, message, duration_ms)
      SELECT ${e.fleetId}, ${e.runId}, ${e.step}, ${e.status}, ${e.message}, ${e.durationMs} ${afterLog} WHERE ${onlyIf}
      RETURNING created_at
    ), ${lock} AS (
      SELECT ${eventOrderLock(e.tenantId)} FROM ${l}
    ), ${ev} AS (
      INSERT INTO fleet_events (tenant_id, type, data)
      SELECT ${e.tenantId}, 'log', jsonb_build_object(
        'runId', ${e.runId}::text, 'step', ${e.step}::text, 'status', ${e.status}::text, 'message', ${e.message}::text,
        'durationMs', ${e.durationMs}::int,
        'createdAt', to_char(${l}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      FROM ${l}, ${lock}${afterEvent} RETURNING id
    )`;
}

export const notifyFromEv = (tenantId: string, event = 'ev') =>
  sql`(SELECT pg_notify(${EVENTS_CHANNEL}, ${tenantId} || ':' || id) FROM ${sql.raw(event)})`;

/**
 * Appends a provision-log entry, its event and the event's NOTIFY (so SSE clients and caches see
 * it) in one statement: atomic on its own, or part of the caller's transaction.
 */
export async function appendLog(db: Db, e: LogEntry): Promise<void> {
  await sql`WITH ${logEntryCtes(e)} SELECT ${notifyFromEv(e.tenantId)}`.execute(db);
}

/**
 * appendLog for a worker that must still own the run (its `running` entry, its progress lines): a
 * worker whose run was handed on writes nothing into the new owner's log. False when it did not.
 * Its commit does not wait for the WAL flush (relaxed-commit.ts): a lost `running` line is harmless.
 */
export async function appendLogAsOwner(db: Db, e: LogEntry, worker: string): Promise<boolean> {
  const owned = sql`EXISTS (SELECT 1 FROM provision_runs WHERE id = ${e.runId} AND worker = ${worker} AND status = 'running')`;
  const { rows } = await sql<{ written: boolean }>`
    WITH ${logEntryCtes(e, owned)} SELECT EXISTS (SELECT 1 FROM l) AS written, ${notifyFromEv(e.tenantId)} AS notified,
      ${relaxedCommit} AS relaxed`.execute(db);
  return rows[0]?.written === true;
}
