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
 * Serialises the two ways a local port is taken (a fleet's reservation here, a pooled gateway's
 * row in warm_gateways): each checks the other's table, and without the lock two transactions
 * could each see the port free and both take it. Held to the end of the caller's transaction.
 */
export async function lockLocalPort(tx: Db, port: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`gateway-port:${LOCAL_PORT_HOST}:${port}`}, 0))`.execute(tx);
}

/** Whether a fleet holds `port` among the local driver's ports (a pooled gateway must not be started on it). */
export async function localPortHeld(tx: Db, port: number): Promise<boolean> {
  const row = await tx
    .selectFrom('gateway_ports')
    .select('fleet_id')
    .where('host', '=', LOCAL_PORT_HOST)
    .where('port', '=', port)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The fleet's port on `host`: the one it already holds there, else `candidate` if no fleet holds
 * it, else undefined (another fleet has it: try another candidate). One statement, so two fleets
 * offered the same candidate at once cannot both get it.
 */
export async function holdGatewayPort(db: Db, fleetId: string, host: string, candidate: number): Promise<number | undefined> {
  return db.transaction().execute(async (tx) => {
    // A reservation on another host (a fleet moved to another driver) no longer protects anything.
    await tx.deleteFrom('gateway_ports').where('fleet_id', '=', fleetId).where('host', '<>', host).execute();
    if (host === LOCAL_PORT_HOST) await lockLocalPort(tx, candidate);
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
