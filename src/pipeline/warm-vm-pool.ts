import { randomBytes } from 'node:crypto';
import type { GcpMachine } from '../compute/driver.ts';
import type { Db } from '../db/connection.ts';
import {
  deleteWarmGateway,
  existingFleets,
  gcpPoolOf,
  insertStarting,
  listOfHost,
  markReady,
  pinWarmHostKey,
  recordVmIp,
  reserveFill,
  type WarmGateway,
} from '../db/warm-gateways.ts';
import { generateSshKey, publicKeyOf } from '../hosts/ssh-keys.ts';
import type { Logger } from '../observability/logger.ts';
import { processExists } from '../util/process-exists.ts';
import type { PipelineSettings } from './settings.ts';
import { machineOfWarmRow, startWarmGateway, warmVmDriverOf } from './warm-machine.ts';
import { runWarmPasses, type WarmPool } from './warm-pass-loop.ts';

/**
 * The warm pool when new fleets go to GCP: `settings.warmPool` pooled VMs per configured zone,
 * counted across every process through the database (a VM is reached from any host, so the pool
 * is the zone's, not a host's). A pooled VM is made from the fleet image with a `pool` label and
 * no tenant or fleet, its own SSH key and gateway token (sealed in its row), and the OpenClaw
 * runtime installed and an empty gateway started over SSH, as the local pool does; the VM's host
 * key is pinned in the row at the first contact. Every zone is pooled, not only the first: a cold
 * create goes to a later zone exactly when the first has no capacity, and then so would a refill.
 *
 * Unlike local gateways, pooled VMs outlive the process that made them: they are shared by the
 * zone's processes, and making one costs minutes. A stopping process leaves its ready VMs to the
 * others; what it was still starting is reaped by the next pass of a process on its host (its pid
 * is gone) or, from another host, once stuck for STUCK_STARTING_SECONDS.
 */

const STUCK_STARTING_SECONDS = 600;
/** After a zone refused a pooled VM (no capacity, quota), it is not asked again for this long. */
const ZONE_BACKOFF_MS = 60_000;

export function startVmPool(deps: { db: Db; settings: PipelineSettings; log: Logger }): WarmPool | undefined {
  const { db, settings } = deps;
  const log = deps.log.child({ component: 'warm-pool' });
  const driver = warmVmDriverOf(settings);
  if (!driver) {
    log.warn('FLEET_WARM_POOL is ignored: FLEET_COMPUTE=gcp but this process has no GCP driver');
    return undefined;
  }
  const zones = [...driver.zones];
  const pools = zones.map(gcpPoolOf);
  const stopping = new AbortController();
  /** Rows this process is starting right now (not stuck, whatever their age). */
  const starting = new Set<string>();
  const zoneRestsUntil = new Map<string, number>();

  const deleteVm = (machine: GcpMachine, id: string) =>
    driver
      .delete(machine)
      .catch((err: unknown) => log.warn({ err, warmGateway: id }, 'deleting a pooled VM failed; the orphan check will find it'));

  const destroy = async (row: WarmGateway, why: string) => {
    // The row first, and only in the state we saw: a claim that took it meanwhile keeps it.
    if (!(await deleteWarmGateway(db, row.id, row.state))) return;
    log.info({ warmGateway: row.id, vm: row.vmName, zone: row.zone, state: row.state, why }, 'pooled VM removed');
    await deleteVm(machineOfWarmRow(settings, row) as GcpMachine, row.id);
  };

  const reap = async () => {
    // The VMs before the rows: a row is written before its VM is inserted, so a listed VM whose
    // row is missing from the later read lost its row, and is not one still being made.
    const vms = await driver.listWarmMachines();
    const rows = await listOfHost(db, pools);
    const fleets = await existingFleets(
      db,
      rows.flatMap((r) => (r.fleetId ? [r.fleetId] : [])),
    );
    const vmState = new Map(vms.map((vm) => [`${vm.machine.zone}/${vm.machine.vmName}`, vm.state]));
    for (const row of rows) {
      if (row.state === 'claimed') {
        if (row.fleetId && !fleets.has(row.fleetId)) await destroy(row, 'its fleet is gone');
        continue;
      }
      if (starting.has(row.id)) continue;
      const ownersHost = row.ownerHost === settings.hostId;
      if (row.state === 'starting' && ownersHost && !processExists(row.ownerPid)) {
        await destroy(row, `the process that started it (pid ${row.ownerPid}) is gone`);
      } else if (row.state === 'starting' && row.ageSeconds > STUCK_STARTING_SECONDS) {
        await destroy(row, 'stuck starting');
      } else if (row.state === 'ready' && vmState.get(`${row.zone}/${row.vmName}`) !== 'running') {
        await destroy(row, `its VM is ${vmState.get(`${row.zone}/${row.vmName}`) ?? 'gone'}`);
      }
    }
    const named = new Set(rows.map((r) => `${r.zone}/${r.vmName}`));
    for (const { machine } of vms) {
      if (named.has(`${machine.zone}/${machine.vmName}`)) continue;
      log.info({ vm: machine.vmName, zone: machine.zone }, 'pooled VM without a pool row removed');
      await deleteVm(machine, machine.vmName);
    }
  };

  const startOne = async (zone: string): Promise<boolean> => {
    const id = `wgw_${randomBytes(8).toString('hex')}`;
    const token = randomBytes(24).toString('base64url');
    const sshKey = generateSshKey();
    const port = await driver.warmGatewayPort(id);
    const planned = driver.warmMachineOf({ id, zone, ip: '', port });
    starting.add(id);
    try {
      const recorded = await insertStarting(db, settings.box, {
        id,
        hostId: gcpPoolOf(zone),
        root: planned.root,
        port,
        osUser: undefined,
        token,
        want: settings.warmPool,
        vm: { name: planned.vmName, zone, sshKey, ownerHost: settings.hostId },
      });
      if (!recorded) return false;
      const machine = await driver.createWarmMachine({
        id,
        zone,
        sshPublicKey: publicKeyOf(sshKey, `agent-fleet-pool-${id}`),
        signal: stopping.signal,
      });
      await recordVmIp(db, id, machine.ip);
      const host = await driver.openHost(machine, {
        sshPrivateKey: async () => sshKey,
        pinnedHostKey: async () => undefined,
        pinHostKey: (fingerprint) => pinWarmHostKey(db, id, fingerprint),
      });
      try {
        const { pid } = await startWarmGateway(host, machine, token, settings, stopping.signal);
        if (!(await markReady(db, id, pid))) {
          await deleteVm(machine, id);
          return false;
        }
        log.info({ warmGateway: id, vm: machine.vmName, zone }, 'pooled VM ready');
        return true;
      } finally {
        await host.close();
      }
    } catch (err) {
      // A stopping process leaves what it was starting to the reaper: deleting a VM takes longer than a stop may.
      if (stopping.signal.aborted) return false;
      log.warn({ err, warmGateway: id, zone }, 'starting a pooled VM failed');
      zoneRestsUntil.set(zone, Date.now() + ZONE_BACKOFF_MS);
      if (await deleteWarmGateway(db, id, 'starting').catch(() => false)) await deleteVm(planned, id);
      return false;
    } finally {
      starting.delete(id);
    }
  };

  const fillZone = async (zone: string) => {
    if ((zoneRestsUntil.get(zone) ?? 0) > Date.now()) return;
    let missing = await reserveFill(db, gcpPoolOf(zone), settings.warmPool);
    while (missing-- > 0 && !stopping.signal.aborted) {
      if (!(await startOne(zone))) break;
    }
  };

  const onePass = async () => {
    await reap();
    // Zones at once: the work is on the VMs, not on this host.
    await Promise.all(zones.map(fillZone));
  };

  const pool = runWarmPasses({ onePass, stopping, log, afterStop: async () => undefined });
  log.info({ size: settings.warmPool, zones }, 'warm pool of GCP VMs started');
  return pool;
}
