import { randomBytes } from 'node:crypto';
import { machineRecord } from '../../compute/driver.ts';
import { putSecretIfAbsent } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { generateSshKey, publicKeyOf } from '../../hosts/ssh-keys.ts';
import { withHeldGatewayPort } from '../gateway-port.ts';
import type { StepDefinition } from '../step.ts';

/**
 * Makes (or adopts) the fleet's machine through its compute driver, with the fleet's secrets that
 * must exist before it: a gateway token and, for machines reached over SSH, the fleet's SSH key.
 * Each secret is generated once per fleet: a replay finds the stored one.
 */
export const vmCreate: StepDefinition = {
  name: 'vm_create',
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const { db, fleet, tenant, settings } = ctx;
    const driver = ctx.machine.driver();
    await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.gatewayToken, randomBytes(24).toString('base64url'));
    const sshKey =
      driver.name === 'local' ? undefined : await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.sshPrivateKey, generateSshKey());
    const made = await driver.createMachine({
      tenantSlug: tenant.slug,
      fleetId: fleet.id,
      sshPublicKey: sshKey ? publicKeyOf(sshKey, `agent-fleet-${fleet.id}`) : '',
      log: (line) => void ctx.progress(line),
      signal: ctx.signal,
    });
    // Two fleets must never share a gateway port (the driver's pick is only free right now).
    const machine = await withHeldGatewayPort(db, fleet.id, made);
    const where =
      machine.driver === 'gcp'
        ? `GCE VM ${machine.vmName} in ${machine.zone} (${machine.ip})`
        : `Machine ${machine.vmName} on the local driver`;
    return {
      message: `${where} ready (gateway port ${machine.gatewayPort})`,
      output: { ...machine },
      fleetUpdate: { machine: machineRecord(machine) },
    };
  },
};
