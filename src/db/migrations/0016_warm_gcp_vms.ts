import { type Kysely, sql } from 'kysely';

/**
 * The warm pool on GCP: a row may stand for a pooled VM. Its `host_id` is then the pool it is
 * counted in, `gcp:<zone>` (VMs are reached from any host, so GCP pools are per zone, shared by
 * every process), and `owner_host` is the host of the process that started it (its pid means
 * something there only). The VM's name, zone and IP, the pool's own SSH key (sealed like the
 * token) and the VM's host key pinned at the pool's first contact, handed to the fleet at claim.
 * All VMs of a zone use the same gateway port, so (host_id, port) is unique for local rows only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE warm_gateways
      ADD COLUMN owner_host text,
      ADD COLUMN vm_name text,
      ADD COLUMN zone text,
      ADD COLUMN ip text,
      ADD COLUMN ssh_key_ciphertext bytea,
      ADD COLUMN ssh_host_key text,
      ADD CONSTRAINT warm_gateways_vm_whole CHECK ((vm_name IS NULL) = (zone IS NULL) AND (vm_name IS NULL) = (ssh_key_ciphertext IS NULL));
    ALTER TABLE warm_gateways DROP CONSTRAINT warm_gateways_host_id_port_key;
    CREATE UNIQUE INDEX warm_gateways_local_port ON warm_gateways (host_id, port) WHERE vm_name IS NULL;
    CREATE UNIQUE INDEX warm_gateways_vm ON warm_gateways (zone, vm_name) WHERE vm_name IS NOT NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DELETE FROM warm_gateways WHERE vm_name IS NOT NULL;
    DROP INDEX warm_gateways_vm;
    DROP INDEX warm_gateways_local_port;
    ALTER TABLE warm_gateways ADD CONSTRAINT warm_gateways_host_id_port_key UNIQUE (host_id, port);
    ALTER TABLE warm_gateways DROP CONSTRAINT warm_gateways_vm_whole,
      DROP COLUMN owner_host, DROP COLUMN vm_name, DROP COLUMN zone, DROP COLUMN ip,
      DROP COLUMN ssh_key_ciphertext, DROP COLUMN ssh_host_key;
  `.execute(db);
}
