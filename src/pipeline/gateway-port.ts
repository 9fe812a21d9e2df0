import type { Machine } from '../compute/driver.ts';
import type { Db } from '../db/connection.ts';
import { holdGatewayPort } from '../db/gateway-ports.ts';
import { freeLoopbackPort } from '../util/free-port.ts';

/** Where a machine's ports live: every local machine shares this host; a VM is a host of its own. */
export const portHostOf = (machine: Machine): string => (machine.driver === 'local' ? 'local' : `${machine.driver}:${machine.vmName}`);

const ATTEMPTS = 20;

/**
 * The machine with the gateway port its fleet holds in the database. The driver's port is free
 * when it is chosen, but the gateway binds it minutes later: until then the OS may hand it to
 * another fleet's vm_create. The database decides: the fleet keeps the port it already holds,
 * takes the driver's if no fleet holds it, and otherwise a new free one (local driver only: a VM's
 * port is a setting, and its host is its own).
 */
export async function withHeldGatewayPort<M extends Machine>(db: Db, fleetId: string, machine: M, pick = freeLoopbackPort): Promise<M> {
  const host = portHostOf(machine);
  let candidate = machine.gatewayPort;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const held = await holdGatewayPort(db, fleetId, host, candidate);
    if (held !== undefined) return { ...machine, gatewayPort: held };
    if (machine.driver !== 'local') break;
    candidate = await pick();
  }
  throw new Error(
    `Could not reserve a gateway port on ${host}: port ${candidate} and the others tried are held by other fleets. Retry; if it persists, check the gateway_ports table.`,
  );
}
