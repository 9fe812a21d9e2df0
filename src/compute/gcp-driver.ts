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
import { type GcpCompute, gceLabelValue } from './gcp.ts';

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
}

export class GcpDriver implements ComputeDriver {
  readonly name = 'gcp' as const;

  constructor(
    private readonly compute: GcpCompute,
    private readonly opts: GcpDriverOptions,
  ) {}

  async createMachine(req: CreateMachineRequest): Promise<GcpMachine> {
    const vmName = vmNameFor(req.tenantSlug);
    const vm = await this.compute.createOrAdopt({
      name: vmName,
      labels: { tenant: gceLabelValue(req.tenantSlug), fleet: gceLabelValue(req.fleetId) },
      sshPublicKey: req.sshPublicKey,
      // Nothing may depend on it having run: every step checks and installs what it needs itself.
      startupScript: '#!/bin/sh\n# agent-fleet: nothing to prepare; the control plane sets the machine up over SSH.\n',
      log: req.log,
      signal: req.signal,
      // Derived from the fleet and the zone: a worker killed mid-insert and its successor send the
      // same requestId, so GCE answers with the first insert instead of making a second VM.
      requestIdFor: (zone) => uuidFrom(`${req.fleetId}:${zone}:vm_create`),
    });
    return {
      driver: 'gcp',
      vmName: vm.name,
      zone: vm.zone,
      ip: vm.externalIp,
      root: `/home/${this.opts.sshUser}/fleets/${req.tenantSlug}`,
      gatewayPort: this.opts.gatewayPort,
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

  /** VMs labelled `managed-by=agent-fleet` in the configured zones whose `fleet` label is no fleet's id. */
  async listOrphans(owners: MachineOwners): Promise<OrphanMachine[]> {
    const owned = new Set([...owners.fleetIds].map(gceLabelValue));
    return (await this.compute.listOurs())
      .filter((vm) => !owned.has(vm.labels.fleet ?? ''))
      .map((vm) => ({
        machine: {
          driver: 'gcp' as const,
          vmName: vm.name,
          zone: vm.zone,
          ip: vm.externalIp ?? '',
          root: '',
          gatewayPort: this.opts.gatewayPort,
          sshUser: this.opts.sshUser,
          sshPort: this.opts.sshPort,
        },
        where: `zone ${vm.zone}`,
      }));
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

const zoneOf = (m: Machine): string => {
  if (m.driver !== 'gcp') throw new Error(`machine ${m.vmName} is not a GCP VM`);
  return m.zone;
};

/** A UUID (the form GCE wants for requestId) derived from `seed`. */
function uuidFrom(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
