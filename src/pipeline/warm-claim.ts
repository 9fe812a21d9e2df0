import type { LocalMachine } from '../compute/driver.ts';
import { getSecrets } from '../db/secrets.ts';
import { claimedBy, claimReady, deleteWarmGateway } from '../db/warm-gateways.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import { injectFault } from './faults.ts';
import type { StepContext } from './step.ts';
import { refillWarmPools } from './warm-pool.ts';
import { destroyWarmMachine, machineOfWarmGateway, warmDriverOf } from './warm-machine.ts';

/**
 * A provision's claim on the warm pool, made by vm_create: the fleet's machine becomes a pooled
 * gateway's (its directory, OS user, port and token), so the steps after it write the tenant's
 * workspace and config straight into a gateway that is already running, and gateway_start only
 * waits for it to reload (warm-takeover.ts). The claim is idempotent by fleet: a run killed right
 * after it finds the same gateway claimed when vm_create runs again.
 */
export type WarmClaim =
  | { machine: LocalMachine; token: string; warmGatewayId: string; resumed: boolean }
  | { machine?: undefined; reason: string };

export async function claimWarmMachine(ctx: StepContext): Promise<WarmClaim> {
  const { db, settings, fleet } = ctx;
  const earlier = await claimedBy(db, settings.box, fleet.id);
  if (earlier) return { ...fromRow(earlier), resumed: true };
  // An earlier attempt went cold (its token and machine exist): the same machine again, not a second.
  const secrets = await getSecrets(db, settings.box, fleet.id);
  if (secrets[SECRET.gatewayToken]) return { reason: 'this fleet has a gateway token already (an earlier attempt, or an earlier machine)' };
  const claimed = await claimReady(db, settings.box, { hostId: settings.hostId, fleetId: fleet.id, runId: ctx.run.id });
  if (!claimed) return { reason: `no pooled gateway is ready on host ${settings.hostId}` };
  refillWarmPools();
  // Tests kill the worker here: the claim is committed and nothing else is.
  await injectFault(settings.faults, 'warm_claim');
  return { ...fromRow(claimed), resumed: false };
}

const fromRow = ({ gateway, token }: NonNullable<Awaited<ReturnType<typeof claimedBy>>>) => ({
  machine: machineOfWarmGateway(gateway),
  token,
  warmGatewayId: gateway.id,
});

/** Gives a claim up: the pooled gateway is stopped and its machine deleted (it never held the tenant's data). */
export async function discardWarmClaim(ctx: StepContext, warmGatewayId: string, machine: LocalMachine): Promise<void> {
  const driver = warmDriverOf(ctx.settings);
  if (driver) await destroyWarmMachine(driver, machine);
  await deleteWarmGateway(ctx.db, warmGatewayId);
}
