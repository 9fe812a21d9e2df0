import type { ComputeDriver, Machine } from '../compute/driver.ts';
import type { Db } from '../db/connection.ts';
import { getFleet, pinSshHostKey } from '../db/fleets.ts';
import { getSecrets } from '../db/secrets.ts';
import type { ComputeDriverName } from '../domain/fleet.ts';
import { SECRET } from '../domain/fleet-settings.ts';
import { TerminalError } from '../domain/step-errors.ts';
import type { Host } from '../hosts/host.ts';
import type { SecretBox } from '../secrets/secret-box.ts';

/**
 * A run's way to its fleet's machine: the fleet's own driver, and ONE host for the whole run
 * (one SSH connection on a VM), opened at first use and closed when the run ends.
 */
export class RunMachine {
  private opened: Promise<Host> | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      box: SecretBox;
      drivers: Partial<Record<ComputeDriverName, ComputeDriver>>;
      fleetId: string;
      driverName: ComputeDriverName;
    },
  ) {}

  /** The driver the fleet was created with; a terminal error when this process is not set up for it. */
  driver(): ComputeDriver {
    const driver = this.deps.drivers[this.deps.driverName];
    if (!driver) {
      throw new TerminalError(
        `This fleet runs on the ${this.deps.driverName} compute driver, which this worker is not configured for` +
          `${this.deps.driverName === 'gcp' ? ' (set FLEET_GCP_PROJECT and credentials)' : ''}. Configure it and retry the fleet.`,
      );
    }
    return driver;
  }

  /** The machine's host; `machine` is vm_create's output. */
  host(machine: Machine): Promise<Host> {
    this.opened ??= this.open(machine).catch((e: unknown) => {
      this.opened = undefined; // the next step may try again
      throw e;
    });
    return this.opened;
  }

  /** The machine's root path as this process sees it, once a step has opened the host (for shown-paths.ts). */
  async openedRoot(): Promise<string | undefined> {
    const host = await this.opened?.catch(() => undefined);
    return host?.resolve('.');
  }

  async close(): Promise<void> {
    const host = await this.opened?.catch(() => undefined);
    this.opened = undefined;
    await host?.close();
  }

  private open(machine: Machine): Promise<Host> {
    const { db, box, fleetId } = this.deps;
    // Read when asked, not at the start of the run: vm_create of this very run may have made the key.
    return this.driver().openHost(machine, {
      sshPrivateKey: async () => (await getSecrets(db, box, fleetId))[SECRET.sshPrivateKey] ?? '',
      pinnedHostKey: async () => (await getFleet(db, fleetId)).ssh_host_key ?? undefined,
      pinHostKey: (fingerprint) => pinSshHostKey(db, fleetId, fingerprint),
    });
  }
}
