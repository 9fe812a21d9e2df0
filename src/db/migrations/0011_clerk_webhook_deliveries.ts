import { type Kysely, sql } from 'kysely';

/**
 * The Clerk webhook deliveries already handled, by their `svix-id`: a replayed delivery is
 * acknowledged and ignored. Pruned by age (received_at), so the table holds about a day of them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE clerk_webhook_deliveries (
      svix_id     text PRIMARY KEY,
      type        text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX clerk_webhook_deliveries_received_idx ON clerk_webhook_deliveries (received_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE clerk_webhook_deliveries;`.execute(db);
}
