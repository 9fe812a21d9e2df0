import { sql } from 'kysely';
import type { Db } from './connection.ts';

/**
 * Gateway ports held by fleets (table gateway_ports): one per fleet, and a port on a host belongs
 * to one fleet at most (UNIQUE (host, port)). Released with the fleet (ON DELETE CASCADE).
 */

/** The port host of every local-driver machine (pipeline/gateway-port.ts). */
const LOCAL_PORT_HOST = 'local';

/**
 * A local pooled gateway (a pooled VM's ports are its own) that no fleet has claimed yet holds its
 * port too (it may still be starting, not yet bound): a cold fleet must not be given it. A claimed
 * one's port is its fleet's, reserved here by the claiming fleet.
 */
const unclaimedPooledPort = (port: number) =>
  sql`SELECT 1 FROM warm_gateways w WHERE w.port = ${port} AND w.state <> 'claimed' AND w.vm_name IS NULL`;

/**
 * The fleet's port on `host`: the one it already holds there, else `candidate` if no fleet holds
 * it, else undefined (another fleet has it: try another candidate). One statement, so two fleets
 * offered the same candidate at once cannot both get it.
 */
export async function holdGatewayPort(db: Db, fleetId: string, host: string, candidate: number): Promise<number | undefined> {
  return db.transaction().execute(async (tx) => {
    // A reservation on another host (a fleet moved to another driver) no longer protects anything.
    await tx.deleteFrom('gateway_ports').where('fleet_id', '=', fleetId).where('host', '<>', host).execute();
    const { rows } = await sql<{ port: number }>`
      WITH held AS (
        SELECT port FROM gateway_ports WHERE fleet_id = ${fleetId}
      ), taken AS (
        INSERT INTO gateway_ports (fleet_id, host, port)
        SELECT ${fleetId}, ${host}, ${candidate} WHERE NOT EXISTS (SELECT 1 FROM held)
          AND NOT (${host === LOCAL_PORT_HOST}::boolean AND EXISTS (${unclaimedPooledPort(candidate)}))
        ON CONFLICT DO NOTHING
        RETURNING port
      )
      SELECT port FROM held UNION ALL SELECT port FROM taken`.execute(tx);
    return rows[0]?.port;
  });
}
