import { type Kysely, sql } from 'kysely';

/** A run may be a reprovision: the machine torn down and built again from the stored settings, as one run. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE provision_runs DROP CONSTRAINT provision_runs_kind_check;
    ALTER TABLE provision_runs ADD CONSTRAINT provision_runs_kind_check
      CHECK (kind IN ('provision', 'suspend', 'resume', 'deprovision', 'reprovision'));
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE provision_runs DROP CONSTRAINT provision_runs_kind_check;
    ALTER TABLE provision_runs ADD CONSTRAINT provision_runs_kind_check
      CHECK (kind IN ('provision', 'suspend', 'resume', 'deprovision'));
  `.execute(db);
}
