import { createHash } from 'node:crypto';
import { SshHost } from '../hosts/ssh-host.ts';
import {
  type AbsenceCheck,
  type ComputeDriver,
  type CreateMachineRequest,
  type GcpMachine,
  type HostAccess,
  type Machine,
  type MachineOwners,
  type OrphanMachine,
  StillPresentError,
} from './driver.ts';
import { type GcpCompute, gceLabelValue, type VmState } from './gcp.ts';

/**
 * The GCP compute driver: each fleet on its own Compute Engine VM (GcpCompute), reached over SSH
 * (SshHost) as a non-root user with the fleet's own key; the fleet lives under that user's home.
 */
export interface GcpDriverOptions {
  sshUser: string;
  sshPort: number;
  /** The port the gateway listens on, on its own VM (asked through SSH, never dialled directly). */
  gatewayPort: number;
  /** Where to dial SSH instead of the VM's external IP (tests: the loopback sshd that plays the VM). */
  sshAddress?: string;
  connectTimeoutMs?: number;
  /**
   * The gateway port of a VM, when not `gatewayPort` for all: tests, where every "VM" is this
   * machine behind one sshd, so pooled and claimed gateways would otherwise share one port.
   */
  gatewayPortFor?: (vmName: string) => Promise<number>;
}

/** The label a pooled VM carries instead of `tenant` and `fleet` (its pool row's id). */
export const POOL_LABEL = 'pool';

// Nothing may depend on it having run: every step checks and installs what it needs itself.
const STARTUP_SCRIPT = '#!/bin/sh\n# agent-fleet: nothing to prepare; the control plane sets the machine up over SSH.\n';

export class GcpDriver implements ComputeDriver {
  readonly name = 'gcp' as const;

  constructor(
    private readonly compute: GcpCompute,
    private readonly opts: GcpDriverOptions,
  ) {}

  /** The configured zones, in the order a create tries them. */
  get zones(): readonly string[] {
    return this.compute.zones;
  }

  async createMachine(req: CreateMachineRequest): Promise<GcpMachine> {
    const vmName = vmNameFor(req.tenantSlug);
    const vm = await this.compute.createOrAdopt({
      name: vmName,
      labels: { tenant: gceLabelValue(req.tenantSlug), fleet: gceLabelValue(req.fleetId) },
      sshPublicKey: req.sshPublicKey,
      startupScript: STARTUP_SCRIPT,
      log: req.log,
      signal: req.signal,
      // Derived from the fleet and the zone: a worker killed mid-insert and its successor send the
      // same requestId, so GCE answers with the first insert instead of making a second VM.
      requestIdFor: (zone) => uuidFrom(`${req.fleetId}:${zone}:vm_create`),
    });
    return this.machineOf(vm.name, vm.zone, vm.externalIp, `/home/${this.opts.sshUser}/fleets/${req.tenantSlug}`);
  }

  /**
   * A pooled VM for the warm pool (pipeline/warm-vm-pool.ts), in `zone`, from the fleet image,
   * labelled with its pool row (no tenant, no fleet) and reached with the pool's own key. Its
   * name starts `fleetw-`, which vmNameFor never makes, so no tenant's VM can take its name.
   */
  async createWarmMachine(req: { id: string; zone: string; sshPublicKey: string; signal: AbortSignal }): Promise<GcpMachine> {
    const name = warmVmName(req.id);
    const vm = await this.compute.createOrAdopt({
      name,
      zones: [req.zone],
      labels: { [POOL_LABEL]: req.id },
      sshPublicKey: req.sshPublicKey,
      startupScript: STARTUP_SCRIPT,
      log: () => undefined,
      signal: req.signal,
      requestIdFor: (zone) => uuidFrom(`${req.id}:${zone}:warm`),
    });
    return this.machineOf(vm.name, vm.zone, vm.externalIp, warmRootFor(this.opts.sshUser, req.id));
  }

  /** The gateway port a pooled VM will have (recorded in its pool row before the VM exists). */
  async warmGatewayPort(id: string): Promise<number> {
    return (await this.opts.gatewayPortFor?.(warmVmName(id))) ?? this.opts.gatewayPort;
  }

  /** The machine of a pool row (its VM's name, zone and IP as the row recorded them). */
  warmMachineOf(row: { id: string; zone: string; ip: string; port: number }): GcpMachine {
    return {
      driver: 'gcp',
      vmName: warmVmName(row.id),
      zone: row.zone,
      ip: row.ip,
      root: warmRootFor(this.opts.sshUser, row.id),
      gatewayPort: row.port,
      sshUser: this.opts.sshUser,
      sshPort: this.opts.sshPort,
    };
  }

  /**
   * Makes a claimed pooled VM the fleet's: labelled with its tenant and fleet (no pool label, so
   * the orphan check and the pool's reaper see a fleet's VM), and reached with the fleet's key only
   * (the pool's key leaves `ssh-keys`, so the guest agent removes it). Idempotent.
   */
  async adoptWarmMachine(machine: GcpMachine, owner: { tenantSlug: string; fleetId: string; sshPublicKey: string; signal: AbortSignal }) {
    await this.compute.replaceSshKey(machine.vmName, machine.zone, owner.sshPublicKey, owner.signal);
    await this.compute.relabel(
      machine.vmName,
      machine.zone,
      { tenant: owner.tenantSlug, fleet: owner.fleetId, [POOL_LABEL]: null },
      owner.signal,
    );
  }

  /** Pooled VMs (labelled `pool`) in the configured zones: the pool's reaper compares them with its rows. */
  async listWarmMachines(): Promise<Array<{ machine: GcpMachine; state: VmState }>> {
    return (await this.compute.listOurs())
      .filter((vm) => vm.labels[POOL_LABEL] !== undefined && vm.labels.fleet === undefined)
      .map((vm) => ({ machine: this.listedMachine(vm.name, vm.zone, vm.externalIp), state: vm.state }));
  }

  private async machineOf(vmName: string, zone: string, ip: string, root: string): Promise<GcpMachine> {
    return {
      driver: 'gcp',
      vmName,
      zone,
      ip,
      root,
      gatewayPort: (await this.opts.gatewayPortFor?.(vmName)) ?? this.opts.gatewayPort,
      sshUser: this.opts.sshUser,
      sshPort: this.opts.sshPort,
    };
  }

  async describe(machine: Machine) {
    const d = await this.compute.describe(machine.vmName, zoneOf(machine));
    return { state: d.state, ip: d.externalIp };
  }

  async stop(machine: Machine): Promise<void> {
    await this.compute.stop(machine.vmName, zoneOf(machine));
  }

  async start(machine: Machine): Promise<void> {
    await this.compute.start(machine.vmName, zoneOf(machine));
  }

  async delete(machine: Machine): Promise<void> {
    await this.compute.delete(machine.vmName, zoneOf(machine));
  }

  /** The API's own word: the instance answers 404 (its boot disk is auto-deleted with it). */
  async verifyDeleted(machine: Machine): Promise<AbsenceCheck[]> {
    const zone = zoneOf(machine);
    const d = await this.compute.describe(machine.vmName, zone);
    if (d.state !== 'missing') throw new StillPresentError(`VM ${machine.vmName} in ${zone}`, `Compute Engine says it is ${d.state}`);
    return [{ resource: `VM ${machine.vmName} in ${zone} (with its boot disk)`, verifiedBy: 'instances.get answered 404 notFound' }];
  }

  /**
   * VMs labelled `managed-by=agent-fleet` in the configured zones whose `fleet` label is no fleet's
   * id, and pooled VMs (a `pool` label, no fleet) that no pool row names: a pool row is written
   * before its VM is inserted, so a pooled VM without one was left by a crash or a lost row.
   */
  async listOrphans(owners: MachineOwners): Promise<OrphanMachine[]> {
    const owned = new Set([...owners.fleetIds].map(gceLabelValue));
    const pooled = owners.pooledVms ?? new Set<string>();
    return (await this.compute.listOurs())
      .filter((vm) =>
        vm.labels.fleet === undefined && vm.labels[POOL_LABEL] !== undefined ? !pooled.has(vm.name) : !owned.has(vm.labels.fleet ?? ''),
      )
      .map((vm) => ({ machine: this.listedMachine(vm.name, vm.zone, vm.externalIp), where: `zone ${vm.zone}` }));
  }

  /** A VM found by a listing, as delete() takes it (no root: nothing of it is reached). */
  private listedMachine(vmName: string, zone: string, ip: string | null): GcpMachine {
    return {
      driver: 'gcp',
      vmName,
      zone,
      ip: ip ?? '',
      root: '',
      gatewayPort: this.opts.gatewayPort,
      sshUser: this.opts.sshUser,
      sshPort: this.opts.sshPort,
    };
  }

  async openHost(machine: Machine, access: HostAccess): Promise<SshHost> {
    if (machine.driver !== 'gcp') throw new Error(`machine ${machine.vmName} is not a GCP VM`);
    return new SshHost({
      host: this.opts.sshAddress ?? machine.ip,
      port: machine.sshPort,
      username: machine.sshUser,
      privateKey: await access.sshPrivateKey(),
      hostKey: { expected: await access.pinnedHostKey(), onFirstContact: (fp) => access.pinHostKey(fp) },
      connectTimeoutMs: this.opts.connectTimeoutMs ?? 20_000,
      root: machine.root,
    });
  }
}

/**
 * A valid, stable GCE name per tenant: lowercase letters, digits and dashes, at most 63. A slug too
 * long for that keeps its start and gets a hash of the whole slug, so two long slugs that share
 * their first 50 characters still get two VMs (not one "foreign" VM refused by the other).
 */
export function vmNameFor(tenantSlug: string): string {
  const name = `fleet-${tenantSlug.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`.replace(/-+$/, '');
  if (name.length <= 63 && name === `fleet-${tenantSlug}`) return name;
  const hash = createHash('sha256').update(tenantSlug).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/-+$/, '')}-${hash}`;
}

/** The VM of a pool row: `fleetw-` and the row id's hex. */
export const warmVmName = (id: string): string => `fleetw-${id.replace(/^wgw_/, '').replace(/[^a-z0-9]/g, '-')}`;

/** Where a pooled VM's gateway lives; the fleet that claims it keeps this root. */
const warmRootFor = (sshUser: string, id: string) => `/home/${sshUser}/fleets/.warm/${id}`;

const zoneOf = (m: Machine): string => {
  if (m.driver !== 'gcp') throw new Error(`machine ${m.vmName} is not a GCP VM`);
  return m.zone;
};

/** A UUID (the form GCE wants for requestId) derived from `seed`. */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
