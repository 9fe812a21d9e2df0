import { randomBytes } from 'node:crypto';
import { type Machine, machineRecord } from '../../compute/driver.ts';
import { putSecretIfAbsent, putSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { generateSshKey, publicKeyOf } from '../../hosts/ssh-keys.ts';
import { holdGatewayPort } from '../../db/gateway-ports.ts';
import { portHostOf, withHeldGatewayPort } from '../gateway-port.ts';
import type { StepContext, StepDefinition } from '../step.ts';
import { claimWarmMachine, discardWarmClaim } from '../warm-claim.ts';

/**
 * Makes (or adopts) the fleet's machine through its compute driver, with the fleet's secrets that
 * must exist before it: a gateway token and, for machines reached over SSH, the fleet's SSH key.
 * Each secret is generated once per fleet: a replay finds the stored one. With a warm pool (this
 * host's, or the GCP zones'), the machine is a pooled gateway's instead (warm-claim.ts), its token the fleet's.
 */
export const vmCreate: StepDefinition = {
  name: 'vm_create',
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const { db, fleet, settings } = ctx;
    const driver = ctx.machine.driver();
    // The pool holds machines of the driver new fleets get; a fleet on another driver goes cold.
    const warm = driver.name === settings.computeDriver && settings.warmPool > 0 ? await warmMachine(ctx) : undefined;
    if (warm) {
      const where =
        warm.driver === 'gcp'
          ? `GCE VM ${warm.vmName} in ${warm.zone} (${warm.ip}) from the warm pool (its gateway is already running on port ${warm.gatewayPort})`
          : `Machine ${warm.vmName} from the warm pool (its gateway is already running on port ${warm.gatewayPort})`;
      return { message: `${where} ready`, output: { ...warm }, fleetUpdate: { machine: machineRecord(warm) } };
    }
    await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.gatewayToken, randomBytes(24).toString('base64url'));
    const sshKey =
      driver.name === 'local' ? undefined : await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.sshPrivateKey, generateSshKey());
    const made = await driver.createMachine({
      tenantSlug: ctx.tenant.slug,
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

/** The pooled machine this fleet claimed (now or in an attempt that died), or undefined: go cold, the reason logged. */
async function warmMachine(ctx: StepContext): Promise<Machine | undefined> {
  const claim = await claimWarmMachine(ctx);
  if (!claim.machine) {
    ctx.log.info({ reason: claim.reason }, 'warm pool: no claim; cold start');
    return undefined;
  }
  // The gateway already runs with this token: it is the fleet's from now on.
  const stored = await putSecretIfAbsent(ctx.db, ctx.settings.box, ctx.fleet.id, SECRET.gatewayToken, claim.token);
  if (stored !== claim.token) await putSecrets(ctx.db, ctx.settings.box, ctx.fleet.id, { [SECRET.gatewayToken]: claim.token });
  const held = await holdGatewayPort(ctx.db, ctx.fleet.id, portHostOf(claim.machine), claim.machine.gatewayPort);
  if (held === claim.machine.gatewayPort) {
    ctx.log.info({ warmGateway: claim.warmGatewayId, resumed: claim.resumed }, 'warm pool: gateway claimed');
    return claim.machine;
  }
  // Another fleet holds the port (it took it while the pooled gateway was starting): give the claim up.
  ctx.log.warn({ warmGateway: claim.warmGatewayId }, 'warm pool: the claimed gateway port is held by another fleet; cold start');
  await discardWarmClaim(ctx, claim.warmGatewayId, claim.machine);
  return undefined;
}
