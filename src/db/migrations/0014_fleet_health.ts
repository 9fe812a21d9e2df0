import { type Kysely, sql } from 'kysely';

/**
 * What the reconciler last observed of each fleet (machine, gateway, Mission Control, each agent),
 * so the health routes read instead of probing, and how many checks in a row found it unhealthy
 * (one failed probe is not enough to act on). A fleet's row goes with the fleet. And the machines
 * labelled as ours that no fleet owns, as the last pass found them (one row: every replica's
 * /metrics reads the same).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE fleet_health (
      fleet_id       text PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
      report         jsonb NOT NULL,
      failed_checks  integer NOT NULL DEFAULT 0,
      checked_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE orphan_machines (
      one         boolean PRIMARY KEY DEFAULT true CHECK (one),
      machines    jsonb NOT NULL,
      checked_at  timestamptz NOT NULL DEFAULT now()
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE orphan_machines; DROP TABLE fleet_health;`.execute(db);
}
