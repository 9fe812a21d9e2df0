import { type Kysely, sql } from 'kysely';

/**
 * One gateway port per fleet, and never one port for two fleets on one host: the local driver
 * picks a port that is free at vm_create and the gateway binds it minutes later, so the database,
 * not the OS, is what keeps two fleets off the same port. Fleets made before keep the port their
 * vm_create checkpoint names (the first one wins where two already share one).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE gateway_ports (
      fleet_id   text PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
      host       text NOT NULL,  -- 'local' (one host holds every local machine), 'gcp:<vm name>'
      port       integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (host, port)
    );
    INSERT INTO gateway_ports (fleet_id, host, port)
      SELECT fleet_id,
             CASE WHEN coalesce(output->>'driver', 'local') = 'local' THEN 'local' ELSE (output->>'driver') || ':' || (output->>'vmName') END,
             (output->>'gatewayPort')::integer
        FROM step_checkpoints
       WHERE step = 'vm_create' AND output->>'gatewayPort' ~ '^[0-9]{1,5}$'
       ORDER BY completed_at
    ON CONFLICT DO NOTHING;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE gateway_ports`.execute(db);
}
