import { type Kysely, sql } from 'kysely';

/**
 * The watchdog asks every few seconds, on every worker, for runs that are queued or running with a
 * stale heartbeat. Finished runs pile up for ever and the query must not scan them: a partial index
 * holds only the live ones (a handful), ordered by heartbeat.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX provision_runs_live_heartbeat ON provision_runs (status, heartbeat_at)
      WHERE status IN ('queued', 'running')
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX provision_runs_live_heartbeat`.execute(db);
}
