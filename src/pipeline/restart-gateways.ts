import type { Db } from '../db/connection.ts';
import { activeFleetMachines } from '../db/fleets.ts';
import { getSecrets } from '../db/secrets.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import { ensureGatewayRunning } from '../gateway/process.ts';
import type { Logger } from '../observability/logger.ts';
import { RunMachine } from './run-machine.ts';
import type { PipelineSettings } from './settings.ts';
import { gatewaySpec, machineOf } from './steps/machine.ts';
import { runtimeFor } from './steps/runtime.ts';

/**
 * After a restart of `fleet serve`, the gateways of active fleets may be gone (the host rebooted,
 * someone killed them): start each one that is not healthy, without restarting the healthy ones,
 * through each fleet's own driver and host. Failures are logged per fleet; one bad fleet does not
 * stop the others.
 */
export async function restartActiveGateways(db: Db, settings: PipelineSettings, log: Logger): Promise<number> {
  let started = 0;
  for (const fleet of await activeFleetMachines(db)) {
    const machine = machineOf({ outputs: { vm_create: fleet.machine } });
    const access = new RunMachine({ db, box: settings.box, drivers: settings.drivers, fleetId: fleet.id, driverName: fleet.driver });
    try {
      const { [SECRET.gatewayToken]: token } = await getSecrets(db, settings.box, fleet.id);
      if (!token) continue;
      const host = await access.host(machine);
      const runtime = await runtimeFor(machine, host, settings);
      const res = await ensureGatewayRunning(host, gatewaySpec(machine, host, runtime, token));
      if (res.restarted) {
        started++;
        log.info({ fleetId: fleet.id, port: machine.gatewayPort, pid: res.pid }, 'restarted the gateway of an active fleet');
      }
    } catch (err) {
      log.error({ err, fleetId: fleet.id }, 'could not restart the gateway of an active fleet');
    } finally {
      await access.close();
    }
  }
  return started;
}
