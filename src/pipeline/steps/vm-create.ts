import { randomBytes } from 'node:crypto';
import { createLocalMachine } from '../../compute/local.ts';
import { freeLoopbackPort } from '../../util/free-port.ts';
import { putSecretIfAbsent } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import type { StepDefinition } from '../step.ts';

/** Allocates the machine: its directory, a gateway port and a gateway token (kept encrypted). */
export const vmCreate: StepDefinition = {
  name: 'vm_create',
  timeoutMs: 60_000,
  async run({ db, fleet, tenant, settings }) {
    const machine = createLocalMachine(settings.fleetsDir, tenant.slug);
    const gatewayPort = await freeLoopbackPort();
    // Generated once per fleet: a replay of this step finds the token already stored.
    await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.gatewayToken, randomBytes(24).toString('base64url'));
    return {
      message: `Machine ${machine.vmName} allocated on the local driver (gateway port ${gatewayPort})`,
      output: { ...machine, gatewayPort },
      fleetUpdate: { machine: { driver: 'local', name: machine.vmName, zone: null, ip: machine.ip } },
    };
  },
};
