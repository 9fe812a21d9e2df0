import { sql } from 'kysely';

/**
 * A select-list item that lets the current transaction commit without waiting for its WAL flush
 * (`synchronous_commit = off` for this transaction only; PostgreSQL flushes it within
 * 3 × wal_writer_delay, 600 ms by default).
 *
 * Only for writes nothing durable depends on, so a database crash that loses them leaves a state
 * the pipeline already handles: a claim (lost: the run is queued again, the worker's next owned
 * write is refused and it stops, as if killed), a step's `running` entry or progress line (lost: the
 * step has no checkpoint either and runs again), a short step's checkpoint (lost: the idempotent
 * step runs again; see step-complete.ts). The WAL is ordered, so any later synchronous commit (a
 * long step's checkpoint, every run's end, every request) makes these durable too. A worker killed
 * at any point loses nothing: this is about the database server crashing, not the worker.
 */
export const relaxedCommit = sql<string>`set_config('synchronous_commit', 'off', true)`;
