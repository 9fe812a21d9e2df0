import { type Kysely, sql } from 'kysely';

/**
 * Who asked for a run: `user:<clerk user id>` for a session, `tenant:<tnt_…>` for the platform.
 * One user can make many tenants, so fair scheduling counts a requester's runs at work, not a
 * tenant's (a tenant has one run at most anyway). Runs from before have none and are not counted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE provision_runs ADD COLUMN requested_by text;
    CREATE INDEX provision_runs_requester_running ON provision_runs (requested_by) WHERE status = 'running';
    CREATE INDEX provision_runs_fleet_created ON provision_runs (fleet_id, created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX provision_runs_fleet_created;
    DROP INDEX provision_runs_requester_running;
    ALTER TABLE provision_runs DROP COLUMN requested_by;
  `.execute(db);
}
