import { type Kysely, sql } from 'kysely';

/**
 * fleet_events is pruned (it would grow for ever); the horizon says up to which id events may be
 * missing, so an SSE client reconnecting with a Last-Event-ID from before it gets a fresh snapshot
 * instead of a silent gap. One row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE fleet_events_horizon (
      one            boolean PRIMARY KEY DEFAULT true CHECK (one),
      pruned_through bigint NOT NULL
    );
    INSERT INTO fleet_events_horizon (pruned_through) VALUES (0);
    CREATE INDEX fleet_events_created_idx ON fleet_events (created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX fleet_events_created_idx; DROP TABLE fleet_events_horizon;`.execute(db);
}
