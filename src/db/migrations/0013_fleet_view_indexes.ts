import { type Kysely, sql } from 'kysely';

/**
 * GET /api/fleet shows a fleet's newest runs whole and only the latest entry of each step from
 * before them (db/fleet-view.ts). Two look-ups make that independent of how often the fleet was
 * provisioned: a run's last entry (where the whole part starts) and a step's latest entry (a
 * fleet's newest runs already have provision_runs_fleet_created). On a large existing table build
 * them by hand first with CREATE INDEX CONCURRENTLY (docs/architecture.md, Database).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS provision_log_run_idx ON provision_log (run_id, id)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS provision_log_fleet_step_idx ON provision_log (fleet_id, step, id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS provision_log_fleet_step_idx`.execute(db);
  await sql`DROP INDEX IF EXISTS provision_log_run_idx`.execute(db);
}
