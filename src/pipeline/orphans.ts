import type { ComputeDriver, OrphanMachine } from '../compute/driver.ts';
import type { ReconcileConfig } from '../config.ts';
import type { Db } from '../db/connection.ts';
import { machineOwners, storedOrphans, storeOrphans } from '../db/orphan-machines.ts';
import type { OrphanMachineRecord } from '../db/schema.ts';
import { stopGateway } from '../gateway/process.ts';
import type { Logger } from '../observability/logger.ts';
import type { PipelineSettings } from './settings.ts';

/**
 * Machines labelled as ours that no fleet owns (a crash between making a machine and recording it,
 * a fleet row removed by hand): reported in the log and, through the stored list, in /metrics;
 * deleted only with FLEET_DELETE_ORPHANS=true. Resolves with the orphans left.
 *
 * An orphan is warned about in the pass that first finds it, not in every pass (every 30 s by
 * default): the log would otherwise fill with one line per orphan, and the gauge says how many are left.
 */
export async function reconcileOrphans(deps: {
  db: Db;
  settings: PipelineSettings;
  log: Logger;
  config: ReconcileConfig;
}): Promise<OrphanMachineRecord[]> {
  const { db, settings, log } = deps;
  const left: OrphanMachineRecord[] = [];
  const before = await storedOrphans(db);
  const known = (r: OrphanMachineRecord) => before.some((b) => b.driver === r.driver && b.name === r.name && b.where === r.where);
  for (const driver of Object.values(settings.drivers)) {
    const found = await driver.listOrphans(await machineOwners(db));
    if (found.length === 0) continue;
    // A fleet made between the owners' query and the listing would look orphaned: what is deleted
    // must be orphaned in a second look too, with owners read after the first.
    const confirmed = deps.config.deleteOrphans ? await confirmOrphans(db, driver, found) : [];
    for (const orphan of found) {
      const record = { driver: driver.name, name: orphan.machine.vmName, where: orphan.where };
      if (confirmed.includes(orphan.machine.vmName)) {
        try {
          await deleteOrphan(driver, orphan);
          log.warn(record, 'deleted an orphan machine (FLEET_DELETE_ORPHANS=true)');
          continue;
        } catch (err) {
          log.error({ err, ...record }, 'could not delete an orphan machine');
        }
      } else if (!known(record)) {
        log.warn(record, 'found a machine of ours that no fleet owns; set FLEET_DELETE_ORPHANS=true to delete such machines');
      }
      left.push(record);
    }
  }
  await storeOrphans(db, left);
  return left;
}

async function confirmOrphans(db: Db, driver: ComputeDriver, first: OrphanMachine[]): Promise<string[]> {
  const again = new Set((await driver.listOrphans(await machineOwners(db))).map((o) => o.machine.vmName));
  return first.map((o) => o.machine.vmName).filter((name) => again.has(name));
}

async function deleteOrphan(driver: ComputeDriver, orphan: OrphanMachine): Promise<void> {
  // A VM's delete takes its processes with it; a local machine's gateway runs on this host and
  // outlives its directory unless it is stopped first (its service record says which process).
  if (orphan.machine.driver === 'local') {
    const host = await driver.openHost(orphan.machine, {
      sshPrivateKey: async () => '',
      pinnedHostKey: async () => undefined,
      pinHostKey: async () => undefined,
    });
    await stopGateway(host);
    await host.close();
  }
  await driver.delete(orphan.machine);
}
