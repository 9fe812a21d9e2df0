import { type Kysely, sql } from 'kysely';

/**
 * A fleet keeps the compute driver it was first provisioned with (fleets made before this were
 * all local), and the SSH host key of its machine, pinned at first contact.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE fleets ADD COLUMN compute_driver text NOT NULL DEFAULT 'local' CHECK (compute_driver IN ('local', 'gcp'));
    ALTER TABLE fleets ADD COLUMN ssh_host_key text;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE fleets DROP COLUMN ssh_host_key, DROP COLUMN compute_driver`.execute(db);
}
