import type { Db } from '../db/connection.ts';
import { ensureGatewayRunning } from '../gateway/process.ts';
import { ensureOpenclawRuntime } from '../gateway/runtime.ts';
import type { Logger } from '../observability/logger.ts';
import { activeFleetMachines } from '../db/fleets.ts';
import { getSecrets } from '../db/secrets.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import type { PipelineSettings } from './settings.ts';
import { gatewayOptions, type MachineOutput } from './steps/machine.ts';

/**
 * After a restart of `fleet serve`, the local driver's gateways of active fleets may be gone (the
 * host rebooted, someone killed them): start each one that is not healthy, without restarting
 * the healthy ones. Failures are logged per fleet; one bad fleet does not stop the others.
 */
export async function restartActiveGateways(db: Db, settings: PipelineSettings, log: Logger): Promise<number> {
  const fleets = await activeFleetMachines(db);
  let started = 0;
  for (const fleet of fleets) {
    const machine = fleet.machine as unknown as MachineOutput;
    try {
      const { [SECRET.gatewayToken]: token } = await getSecrets(db, settings.box, fleet.id);
      if (!token) continue;
      const runtime = await ensureOpenclawRuntime({ cacheDir: settings.runtimeCacheDir, standinCommand: settings.gatewayCommand });
      const res = await ensureGatewayRunning(gatewayOptions(machine, runtime, token));
      if (res.restarted) {
        started++;
        log.info({ fleetId: fleet.id, port: machine.gatewayPort, pid: res.pid }, 'restarted the gateway of an active fleet');
      }
    } catch (err) {
      log.error({ err, fleetId: fleet.id }, 'could not restart the gateway of an active fleet');
    }
  }
  return started;
}
