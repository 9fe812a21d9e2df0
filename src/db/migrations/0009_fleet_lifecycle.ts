import { type Kysely, sql } from 'kysely';

/**
 * The fleet lifecycle (suspend, resume, deprovision, cancel):
 *  - fleets.desired_state next to status, and who suspended it (a platform suspension is lifted by
 *    the platform only) and why;
 *  - a run's kind is what it does (provision, suspend, resume, deprovision); a retry is a flag, not
 *    a kind (earlier `retry` runs become provision runs flagged as retries); a run carries its
 *    options (a suspension's reason, a deprovision that removes the tenant too) and a cancel request;
 *  - checkpoints are kept per fleet, kind and step (a resume's gateway step is not a provision's);
 *  - audit entries keep the tenant's slug, so the platform still reads a deleted tenant's audit by
 *    the id it knows it by.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE fleets
      ADD COLUMN desired_state text NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'suspended', 'deleted')),
      ADD COLUMN suspended_by text,
      ADD COLUMN suspend_reason text;

    ALTER TABLE provision_runs DROP CONSTRAINT provision_runs_kind_check;
    ALTER TABLE provision_runs
      ADD COLUMN retry boolean NOT NULL DEFAULT false,
      ADD COLUMN options jsonb NOT NULL DEFAULT '{}'::jsonb,
      ADD COLUMN cancel_requested_by text;
    UPDATE provision_runs SET kind = 'provision', retry = true WHERE kind = 'retry';
    ALTER TABLE provision_runs ADD CONSTRAINT provision_runs_kind_check
      CHECK (kind IN ('provision', 'suspend', 'resume', 'deprovision'));

    ALTER TABLE step_checkpoints ADD COLUMN kind text NOT NULL DEFAULT 'provision';
    ALTER TABLE step_checkpoints DROP CONSTRAINT step_checkpoints_pkey;
    ALTER TABLE step_checkpoints ADD PRIMARY KEY (fleet_id, kind, step);

    ALTER TABLE audit_log ADD COLUMN tenant_slug text;
    UPDATE audit_log a SET tenant_slug = t.slug FROM tenants t WHERE t.id = a.tenant_id;
    CREATE INDEX audit_log_tenant_slug_idx ON audit_log (tenant_slug, id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX audit_log_tenant_slug_idx;
    ALTER TABLE audit_log DROP COLUMN tenant_slug;
    DELETE FROM step_checkpoints WHERE kind <> 'provision';
    ALTER TABLE step_checkpoints DROP CONSTRAINT step_checkpoints_pkey;
    ALTER TABLE step_checkpoints ADD PRIMARY KEY (fleet_id, step);
    ALTER TABLE step_checkpoints DROP COLUMN kind;
    DELETE FROM provision_runs WHERE kind <> 'provision';
    ALTER TABLE provision_runs DROP CONSTRAINT provision_runs_kind_check;
    UPDATE provision_runs SET kind = 'retry' WHERE retry;
    ALTER TABLE provision_runs ADD CONSTRAINT provision_runs_kind_check CHECK (kind IN ('provision', 'retry'));
    ALTER TABLE provision_runs DROP COLUMN cancel_requested_by, DROP COLUMN options, DROP COLUMN retry;
    ALTER TABLE fleets DROP COLUMN suspend_reason, DROP COLUMN suspended_by, DROP COLUMN desired_state;
  `.execute(db);
}
