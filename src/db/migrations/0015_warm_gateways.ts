import { type Kysely, sql } from 'kysely';

/**
 * The warm pool: gateways started ahead of demand on a host, holding no tenant data, each with
 * its own machine directory, OS user, port and token (sealed like a fleet secret). A row is
 * `starting` while its process boots, `ready` once it answers, and `claimed` from the moment a
 * provision took it for a fleet until the fleet's gateway_start has taken it over (the row is
 * then deleted: the machine is the fleet's, and goes as any machine does).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE warm_gateways (
      id                text PRIMARY KEY,
      host_id           text NOT NULL,
      state             text NOT NULL CHECK (state IN ('starting', 'ready', 'claimed')),
      root              text NOT NULL,
      port              integer NOT NULL,
      os_user           text,
      pid               integer,
      token_ciphertext  bytea NOT NULL,
      -- The process that started it (on host_id): it stops its unclaimed gateways when it stops,
      -- and a dead one's are reaped by any process of the same host.
      owner_pid         integer NOT NULL,
      fleet_id          text,
      run_id            text,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (host_id, port),
      CHECK ((state = 'claimed') = (fleet_id IS NOT NULL))
    );
    -- One claimed gateway per fleet: a claim that re-runs finds it instead of taking a second.
    CREATE UNIQUE INDEX warm_gateways_fleet ON warm_gateways (fleet_id) WHERE fleet_id IS NOT NULL;
    CREATE INDEX warm_gateways_host_state ON warm_gateways (host_id, state, created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE warm_gateways;`.execute(db);
}
