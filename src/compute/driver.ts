import type { ComputeDriverName, MachineRecord } from '../domain/fleet.ts';
import type { Host } from '../hosts/host.ts';

/**
 * The compute-driver seam: every step and the restart/reconcile code make, reach, stop and delete
 * machines through this interface, never through a driver's own API. A fleet keeps the driver it
 * was created with (`fleets.compute_driver`).
 */

/** A fleet's machine as its driver made it: checkpointed by vm_create, enough to reach it again. */
export type Machine = LocalMachine | GcpMachine;

interface MachineBase {
  vmName: string;
  /** Where the fleet lives on the machine (absolute, as the machine sees it). */
  root: string;
  /** How the control plane and the Control UI reach it. */
  ip: string;
  gatewayPort: number;
}

export interface LocalMachine extends MachineBase {
  driver: 'local';
  /** The fleet's own OS user, when the control plane isolates fleets by user (it runs as root). */
  osUser?: string;
}

export interface GcpMachine extends MachineBase {
  driver: 'gcp';
  zone: string;
  sshUser: string;
  sshPort: number;
}

export interface CreateMachineRequest {
  tenantSlug: string;
  fleetId: string;
  /** The fleet's SSH public key (OpenSSH format), for drivers reached over SSH. */
  sshPublicKey: string;
  /** A progress line for the provision log ("zone … has no capacity; trying …"). */
  log(line: string): void;
  signal: AbortSignal;
}

export type MachineState = 'running' | 'starting' | 'stopping' | 'stopped' | 'missing';

/**
 * What reaching a machine's host may need besides the machine itself, read only when a driver asks
 * (the local driver never does: its runs pay no query for it).
 */
export interface HostAccess {
  /** The fleet's SSH private key (OpenSSH format). */
  sshPrivateKey(): Promise<string>;
  /** The machine's SSH host key fingerprint pinned at first contact, if any. */
  pinnedHostKey(): Promise<string | undefined>;
  /** Stores the fingerprint seen at first contact, before anything else happens on the machine. */
  pinHostKey(fingerprint: string): Promise<void>;
}

export interface ComputeDriver {
  readonly name: ComputeDriverName;
  /** Makes the tenant's machine, or adopts the one already made for this fleet: idempotent. */
  createMachine(req: CreateMachineRequest): Promise<Machine>;
  describe(machine: Machine): Promise<{ state: MachineState; ip: string | null }>;
  stop(machine: Machine): Promise<void>;
  start(machine: Machine): Promise<void>;
  /** Deletes the machine and everything on it; a machine already gone is success. */
  delete(machine: Machine): Promise<void>;
  /**
   * Proves the machine is gone after delete: one check per resource, each saying how its absence
   * was seen (a 404 from the cloud's API, a directory absent, a port closed). Throws when
   * something is still there.
   */
  verifyDeleted(machine: Machine): Promise<AbsenceCheck[]>;
  /** A host for the machine; the caller closes it (services keep running). */
  openHost(machine: Machine, access: HostAccess): Promise<Host>;
  /**
   * The machines this driver made (local: directories and service records under the data dir;
   * GCP: VMs labelled as ours) that none of `owners` owns: orphans, left by a crash or by hand.
   */
  listOrphans(owners: MachineOwners): Promise<OrphanMachine[]>;
}

/** Who may own machines: the slugs of tenants that have a fleet, the fleets' ids, and the warm pool. */
export interface MachineOwners {
  tenantSlugs: ReadonlySet<string>;
  fleetIds: ReadonlySet<string>;
  /** VM names the warm pool's rows hold (starting, ready or claimed): not orphans. */
  pooledVms?: ReadonlySet<string>;
}

/** A machine of ours that no fleet owns. */
export interface OrphanMachine {
  /** As delete() takes it. */
  machine: Machine;
  /** Where it is, for people: a directory under the data dir, a zone. */
  where: string;
}

/** One resource of a deleted fleet and how its absence was verified (the deprovision proof). */
export interface AbsenceCheck {
  resource: string;
  verifiedBy: string;
}

/** A resource that should be gone and is not: the deprovision's proof step fails (and is retried). */
export class StillPresentError extends Error {
  constructor(resource: string, how: string) {
    super(`${resource} is still there (${how})`);
    this.name = 'StillPresentError';
  }
}

/** The machine as the fleet row stores it: the driver's own terms, nothing secret. */
export function machineRecord(m: Machine): MachineRecord {
  return { driver: m.driver, name: m.vmName, zone: m.driver === 'gcp' ? m.zone : null, ip: m.ip };
}
