import type { GcpMachine, Machine } from '../compute/driver.ts';
import { pinSshHostKey } from '../db/fleets.ts';
import { getSecrets, putSecretIfAbsent } from '../db/secrets.ts';
import { type ClaimedWarmGateway, claimedBy, claimReady, deleteWarmGateway } from '../db/warm-gateways.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import { generateSshKey, publicKeyOf } from '../hosts/ssh-keys.ts';
import { injectFault } from './faults.ts';
import type { StepContext } from './step.ts';
import { destroyWarmMachine, machineOfWarmRow, warmDriverOf, warmPoolsOf, warmVmDriverOf } from './warm-machine.ts';
import { refillWarmPools } from './warm-pass-loop.ts';

/**
 * A provision's claim on the warm pool, made by vm_create: the fleet's machine becomes a pooled
 * gateway's (its directory, OS user, port and token; on GCP its VM, relabelled for the fleet and
 * reached with the fleet's key and the host key the pool pinned), so the steps after it write the
 * tenant's workspace and config straight into a gateway that is already running, and
 * gateway_start only waits for it to reload (warm-takeover.ts). The claim is idempotent by fleet:
 * a run killed right after it finds the same gateway claimed when vm_create runs again.
 */
export type WarmClaim =
  | { machine: Machine; token: string; warmGatewayId: string; resumed: boolean }
  | { machine?: undefined; reason: string };

export async function claimWarmMachine(ctx: StepContext): Promise<WarmClaim> {
  const { db, settings, fleet } = ctx;
  const earlier = await claimedBy(db, settings.box, fleet.id);
  if (earlier) return { ...(await madeTheFleets(ctx, earlier)), resumed: true };
  // An earlier attempt went cold (its token and machine exist): the same machine again, not a second.
  const secrets = await getSecrets(db, settings.box, fleet.id);
  if (secrets[SECRET.gatewayToken]) return { reason: 'this fleet has a gateway token already (an earlier attempt, or an earlier machine)' };
  const pools = warmPoolsOf(settings);
  const claimed = await claimReady(db, settings.box, { hostId: pools, fleetId: fleet.id, runId: ctx.run.id });
  if (!claimed) {
    const where = settings.computeDriver === 'gcp' ? `in ${pools.join(', ')}` : `on host ${settings.hostId}`;
    return { reason: `no pooled ${settings.computeDriver === 'gcp' ? 'VM' : 'gateway'} is ready ${where}` };
  }
  refillWarmPools();
  // Tests kill the worker here: the claim is committed and nothing else is.
  await injectFault(settings.faults, 'warm_claim');
  return { ...(await madeTheFleets(ctx, claimed)), resumed: false };
}

/**
 * The claimed machine, made the fleet's. A local one already is (its directory and user go with
 * the claim). A pooled VM gets the fleet's SSH key in place of the pool's and the fleet's labels
 * in place of the pool label, and the fleet pins the host key the pool saw; each of these is
 * idempotent, so a claim resumed after a crash does them again.
 */
async function madeTheFleets(ctx: StepContext, claim: ClaimedWarmGateway) {
  const { db, settings, fleet } = ctx;
  const machine = machineOfWarmRow(settings, claim.gateway);
  if (machine.driver === 'gcp') {
    const driver = warmVmDriverOf(settings);
    if (!driver) throw new Error(`the claimed pooled VM ${machine.vmName} needs the gcp driver`);
    const sshKey = await putSecretIfAbsent(db, settings.box, fleet.id, SECRET.sshPrivateKey, generateSshKey());
    await driver.adoptWarmMachine(machine, {
      tenantSlug: ctx.tenant.slug,
      fleetId: fleet.id,
      sshPublicKey: publicKeyOf(sshKey, `agent-fleet-${fleet.id}`),
      signal: ctx.signal,
    });
    if (claim.gateway.sshHostKey) await pinSshHostKey(db, fleet.id, claim.gateway.sshHostKey);
  }
  return { machine, token: claim.token, warmGatewayId: claim.gateway.id };
}

/** Gives a claim up: the pooled gateway is stopped and its machine deleted (it never held the tenant's data). */
export async function discardWarmClaim(ctx: StepContext, warmGatewayId: string, machine: Machine): Promise<void> {
  if (machine.driver === 'gcp') await ctx.machine.driver().delete(machine as GcpMachine);
  else {
    const driver = warmDriverOf(ctx.settings);
    if (driver) await destroyWarmMachine(driver, machine);
  }
  await deleteWarmGateway(ctx.db, warmGatewayId);
}
