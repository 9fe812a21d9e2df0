import { type Kysely, sql } from 'kysely';

/** Tenants, fleets, runs, the provision log, encrypted secrets and the audit log. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE tenants (
      id            text PRIMARY KEY,                     -- tnt_…
      seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- creation order, for cursor pages
      slug          text NOT NULL UNIQUE,                 -- the platform's tenantId (snake_case)
      name          text NOT NULL,
      plan          text NOT NULL,
      kind          text NOT NULL CHECK (kind IN ('org', 'personal')),
      clerk_org_id  text UNIQUE,
      clerk_user_id text UNIQUE,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      CHECK ((clerk_org_id IS NULL) <> (clerk_user_id IS NULL))
    );

    CREATE TABLE fleets (
      id             text PRIMARY KEY,                    -- flt_…
      tenant_id      text NOT NULL UNIQUE REFERENCES tenants(id) ON DELETE CASCADE,
      status         text NOT NULL CHECK (status IN ('pending', 'provisioning', 'active', 'error', 'suspended')),
      template_id    text NOT NULL,
      dashboard_url  text,
      agent_specs    jsonb NOT NULL,
      repos          jsonb NOT NULL,
      gcp_resources  jsonb,
      settings       jsonb NOT NULL DEFAULT '{}'::jsonb, -- non-secret provisioning settings
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fleets_status_idx ON fleets (status);

    CREATE TABLE provision_runs (
      id           text PRIMARY KEY,                      -- run_…
      fleet_id     text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
      kind         text NOT NULL CHECK (kind IN ('provision', 'retry')),
      status       text NOT NULL CHECK (status IN ('queued', 'running', 'complete', 'error', 'cancelled')),
      worker       text,
      error        text,
      failed_step  text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      started_at   timestamptz,
      heartbeat_at timestamptz,
      finished_at  timestamptz
    );
    -- One active run per fleet, enforced by the database rather than by hope.
    CREATE UNIQUE INDEX provision_runs_one_active ON provision_runs (fleet_id)
      WHERE status IN ('queued', 'running');

    CREATE TABLE provision_log (
      id          bigserial PRIMARY KEY,
      fleet_id    text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
      run_id      text REFERENCES provision_runs(id) ON DELETE CASCADE,
      step        text NOT NULL,
      status      text NOT NULL CHECK (status IN ('running', 'complete', 'error')),
      message     text,
      duration_ms integer,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX provision_log_fleet_idx ON provision_log (fleet_id, id);

    -- A step's output, once per fleet: a retry or a replay returns it instead of running the step.
    CREATE TABLE step_checkpoints (
      fleet_id     text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
      step         text NOT NULL,
      position     integer NOT NULL,
      run_id       text NOT NULL,
      output       jsonb NOT NULL,
      completed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fleet_id, step)
    );

    CREATE TABLE fleet_secrets (
      fleet_id   text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
      name       text NOT NULL,
      ciphertext bytea NOT NULL,                          -- AES-256-GCM: iv || tag || data
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (fleet_id, name)
    );

    -- What happened to a fleet, in order, for the SSE stream and its Last-Event-ID replay.
    CREATE TABLE fleet_events (
      id         bigserial PRIMARY KEY,
      tenant_id  text NOT NULL,
      type       text NOT NULL,
      data       jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX fleet_events_tenant_idx ON fleet_events (tenant_id, id);

    CREATE TABLE audit_log (
      id         bigserial PRIMARY KEY,
      tenant_id  text,
      actor      text NOT NULL,
      action     text NOT NULL,
      detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE audit_log, fleet_events, fleet_secrets, step_checkpoints, provision_log,
    provision_runs, fleets, tenants`.execute(db);
}
