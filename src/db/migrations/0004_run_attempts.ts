import { type Kysely, sql } from 'kysely';

/**
 * How many times a run was claimed, and what the last crash outside a step said: a run that keeps
 * crashing (a bug, a secret that no longer decrypts, a missing row) ends in error after a bounded
 * number of claims instead of being re-enqueued by the watchdog forever.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE provision_runs ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN last_crash text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE provision_runs DROP COLUMN last_crash, DROP COLUMN attempts`.execute(db);
}
