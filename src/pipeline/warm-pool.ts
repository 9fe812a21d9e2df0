import { randomBytes } from 'node:crypto';
import type { Db } from '../db/connection.ts';
import {
  deleteWarmGateway,
  existingFleets,
  insertStarting,
  listOfHost,
  markReady,
  reserveFill,
  type WarmGateway,
} from '../db/warm-gateways.ts';
import type { Logger } from '../observability/logger.ts';
import { processExists } from '../util/process-exists.ts';
import { injectFault } from './faults.ts';
import type { PipelineSettings } from './settings.ts';
import { destroyWarmMachine, machineOfWarmGateway, startWarmGateway, warmDriverOf } from './warm-machine.ts';
import { runWarmPasses, type WarmPool } from './warm-pass-loop.ts';
import { startVmPool } from './warm-vm-pool.ts';

/**
 * The warm pool of one process that runs workers: keeps `settings.warmPool` empty gateways
 * started on this host (counted across every process of the host), refills after each claim,
 * reaps what a dead process or a lost claim left, and stops the unclaimed gateways it started
 * when the process stops. One pass at a time; a pass starts gateways one after another (a real
 * gateway's start is CPU-heavy). When new fleets go to GCP, the pool is of VMs instead (warm-vm-pool.ts).
 */
export type { WarmPool };

/** A gateway `starting` longer than this is taken for stuck and reaped (its real start takes ~20 s). */
const STUCK_STARTING_SECONDS = 600;

const alive = (pid: number | null) => pid !== null && pid > 0 && processExists(pid);

export function startWarmPool(deps: { db: Db; settings: PipelineSettings; log: Logger }): WarmPool | undefined {
  const { db, settings } = deps;
  if (settings.warmPool <= 0) return undefined;
  if (settings.computeDriver === 'gcp') return startVmPool(deps);
  const driver = warmDriverOf(settings);
  if (!driver) return undefined;
  const log = deps.log.child({ component: 'warm-pool' });
  if (!driver.poolsMachines) {
    log.warn('FLEET_WARM_POOL is ignored: without OS users per fleet the local driver serves one tenant only in production');
    return undefined;
  }
  const stopping = new AbortController();
  /** Rows this process is starting right now (not stuck, whatever their age). */
  const starting = new Set<string>();

  const destroy = async (row: WarmGateway, why: string) => {
    // The row first, and only in the state we saw: a claim that took it meanwhile keeps it.
    if (!(await deleteWarmGateway(db, row.id, row.state))) return;
    log.info({ warmGateway: row.id, state: row.state, why }, 'pooled gateway removed');
    await destroyWarmMachine(driver, machineOfWarmGateway(row)).catch((err: unknown) =>
      log.warn({ err, warmGateway: row.id }, 'removing a pooled gateway machine failed; the orphan check will find it'),
    );
  };

  const reap = async () => {
    const rows = await listOfHost(db, settings.hostId);
    const fleets = await existingFleets(
      db,
      rows.flatMap((r) => (r.fleetId ? [r.fleetId] : [])),
    );
    for (const row of rows) {
      if (row.state === 'claimed') {
        // Its claim's fleet is gone (deprovisioned or deleted before it took the gateway over).
        if (row.fleetId && !fleets.has(row.fleetId)) await destroy(row, 'its fleet is gone');
        continue;
      }
      if (row.ownerPid === process.pid && starting.has(row.id)) continue;
      if (!alive(row.ownerPid)) await destroy(row, `the process that started it (pid ${row.ownerPid}) is gone`);
      else if (row.state === 'ready' && !alive(row.pid)) await destroy(row, 'its gateway process exited');
      else if (row.state === 'starting' && row.ageSeconds > STUCK_STARTING_SECONDS) await destroy(row, 'stuck starting');
    }
  };

  const startOne = async () => {
    const id = `wgw_${randomBytes(8).toString('hex')}`;
    // Recorded before anything of it exists: a process killed between the two leaves a row that
    // reap() removes (its owner is gone), never a directory and an OS user that no row names
    // (the orphan check skips fleets/.warm, where claimed machines stay after their rows go).
    const machine = await driver.planWarmMachine(id);
    const token = randomBytes(24).toString('base64url');
    const recorded = await insertStarting(db, settings.box, {
      id,
      hostId: settings.hostId,
      root: machine.root,
      port: machine.gatewayPort,
      osUser: machine.osUser,
      token,
      want: settings.warmPool,
    });
    if (!recorded) return false;
    starting.add(id);
    try {
      await injectFault(settings.faults, 'warm_machine');
      await driver.makeWarmMachine(machine);
      const host = await driver.openHost(machine);
      try {
        const { pid } = await startWarmGateway(host, machine, token, settings, stopping.signal);
        if (!(await markReady(db, id, pid))) {
          await destroyWarmMachine(driver, machine);
          return false;
        }
        log.info({ warmGateway: id, port: machine.gatewayPort, pid }, 'pooled gateway ready');
        return true;
      } finally {
        await host.close();
      }
    } catch (err) {
      if (!stopping.signal.aborted) log.warn({ err, warmGateway: id }, 'starting a pooled gateway failed');
      await deleteWarmGateway(db, id, 'starting').catch(() => undefined);
      await destroyWarmMachine(driver, machine).catch(() => undefined);
      return false;
    } finally {
      starting.delete(id);
    }
  };

  const onePass = async () => {
    await reap();
    let missing = await reserveFill(db, settings.hostId, settings.warmPool);
    while (missing-- > 0 && !stopping.signal.aborted) {
      if (!(await startOne())) break;
    }
  };

  const pool = runWarmPasses({
    onePass,
    stopping,
    log,
    afterStop: async () => {
      // Ours and unclaimed: nobody else will use them, and nothing of a tenant is in them.
      const ours = (await listOfHost(db, settings.hostId)).filter((r) => r.ownerPid === process.pid && r.state !== 'claimed');
      await Promise.all(ours.map((r) => destroy(r, 'the process that started it stopped')));
      if (ours.length > 0) log.info({ stopped: ours.length }, 'pooled gateways stopped');
    },
  });
  log.info({ size: settings.warmPool, host: settings.hostId }, 'warm pool started');
  return pool;
}
