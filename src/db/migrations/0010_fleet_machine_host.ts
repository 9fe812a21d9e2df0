import { type Kysely, sql } from 'kysely';

/**
 * A local-driver machine exists only on the host that made it (a directory and processes there):
 * the fleet records that host, set by the first claim of one of its runs, so only workers on that
 * host work on its runs. Null: no run claimed yet, or a driver whose machines any host reaches (GCP).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE fleets ADD COLUMN machine_host text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE fleets DROP COLUMN machine_host`.execute(db);
}
