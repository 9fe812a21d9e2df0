import fs from 'node:fs';
import path from 'node:path';
import { GcpCompute } from '../../src/compute/gcp.ts';
import { GcpDriver } from '../../src/compute/gcp-driver.ts';
import type { Machine } from '../../src/compute/driver.ts';
import type { Db } from '../../src/db/connection.ts';
import { getSecrets } from '../../src/db/secrets.ts';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import type { SecretBox } from '../../src/secrets/secret-box.ts';
import { freePort } from '../gateway/helpers.ts';
import { type Sshd, startSshd } from '../hosts/sshd.ts';
import { type GceStandin, startGceStandin } from '../standins/gce-server.ts';

export const GCP_PROJECT = 'acme-fleets';
export const GCP_ZONES = ['europe-west2-b', 'europe-west2-c'];

/**
 * "Google Cloud" for the pipeline tests: the Compute Engine stand-in, whose VMs all answer at
 * 127.0.0.1, and a real sshd on loopback that plays every VM (the insert's `ssh-keys` key is
 * authorised on it). The driver is the production GcpDriver pointed at the stand-in.
 */
export interface GcpWorld {
  gce: GceStandin;
  sshd: Sshd;
  driver: GcpDriver;
  /** The settings a `fleet` process needs to reach the same world (FLEET_COMPUTE=gcp and the rest). */
  env(): Record<string, string>;
  /** Stops the fleet's gateway on the "VM" and removes what the fleet left in the test user's home. */
  removeFleet(db: Db, box: SecretBox, slug: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * `changingIps`: each start of a VM gives it a new external IP (as GCE's ephemeral IPs do across a
 * stop); SSH then dials the loopback sshd whatever the VM's IP says. `portPerVm`: each VM's gateway
 * gets a port of its own (the warm pool runs several "VMs" on this one machine at once).
 */
export async function startGcpWorld(opts: { changingIps?: boolean; portPerVm?: boolean } = {}): Promise<GcpWorld> {
  const sshd = await startSshd();
  let nextIp = 10;
  const natIpFor = opts.changingIps ? () => `203.0.113.${nextIp++}` : () => '127.0.0.1';
  const gce = await startGceStandin({ project: GCP_PROJECT, natIpFor });
  const keyOf = (items: Array<{ key: string; value: string }>) => {
    const keys = items.find((m) => m.key === 'ssh-keys')?.value;
    return keys === undefined ? undefined : keys.slice(keys.indexOf(':') + 1);
  };
  gce.onInsert((vm) => {
    sshd.addAuthorizedKey(keyOf(vm.metadata) ?? '');
  });
  // The guest agent's part: the key that left ssh-keys is removed, the new one authorised.
  gce.onSetMetadata((vm, before) => {
    const old = keyOf(before);
    const now = keyOf(vm.metadata);
    if (old !== undefined && old !== now) sshd.removeAuthorizedKey(old);
    if (now !== undefined && now !== old) sshd.addAuthorizedKey(now);
  });
  const compute = new GcpCompute({
    project: GCP_PROJECT,
    zones: GCP_ZONES,
    machineType: 'e2-standard-2',
    image: 'projects/debian-cloud/global/images/family/debian-12',
    network: 'global/networks/default',
    apiEndpoint: gce.origin,
    authClient: gce.authClient(),
    sshUser: sshd.user.name,
    pollIntervalMs: 10,
  });
  const gatewayPort = await freePort();
  const ports = new Map<string, number>();
  const driver = new GcpDriver(compute, {
    sshUser: sshd.user.name,
    sshPort: sshd.port,
    gatewayPort,
    ...(opts.portPerVm
      ? {
          gatewayPortFor: async (vmName: string) => {
            if (!ports.has(vmName)) ports.set(vmName, await freePort());
            return ports.get(vmName)!;
          },
        }
      : {}),
    ...(opts.changingIps ? { sshAddress: '127.0.0.1' } : {}),
  });
  return {
    gce,
    sshd,
    driver,
    env: () => ({
      FLEET_COMPUTE: 'gcp',
      FLEET_GCP_PROJECT: GCP_PROJECT,
      FLEET_GCP_ZONES: GCP_ZONES.join(','),
      FLEET_GCP_API_ENDPOINT: gce.origin,
      FLEET_GCP_ACCESS_TOKEN: gce.token,
      FLEET_GCP_GATEWAY_PORT: String(gatewayPort),
      FLEET_SSH_USER: sshd.user.name,
      FLEET_SSH_PORT: String(sshd.port),
    }),
    async removeFleet(db, box, slug) {
      const fleet = await db
        .selectFrom('fleets')
        .innerJoin('tenants', 'tenants.id', 'fleets.tenant_id')
        .select(['fleets.id', 'fleets.machine', 'fleets.ssh_host_key'])
        .where('tenants.slug', '=', slug)
        .executeTakeFirst();
      const checkpoint = fleet
        ? await db
            .selectFrom('step_checkpoints')
            .select('output')
            .where('fleet_id', '=', fleet.id)
            .where('step', '=', 'vm_create')
            .executeTakeFirst()
        : undefined;
      if (fleet && checkpoint) {
        const host = await driver.openHost(checkpoint.output as unknown as Machine, {
          sshPrivateKey: async () => (await getSecrets(db, box, fleet.id)).ssh_private_key!,
          pinnedHostKey: async () => fleet.ssh_host_key ?? undefined,
          pinHostKey: async () => {},
        });
        await host.stopService(GATEWAY_SERVICE, { graceMs: 2000 });
        await host.close();
      }
      // What the fleet left on the "VM" (the test user's home, shared with the host tests that run
      // alongside): its machine root and its service records, nothing else.
      const home = sshd.user.home;
      fs.rmSync(path.join(home, 'fleets', slug), { recursive: true, force: true });
      const records = path.join(home, '.fleet-services');
      for (const dir of fs.existsSync(records) ? fs.readdirSync(records) : []) {
        if (dir.startsWith(`${slug}-`)) fs.rmSync(path.join(records, dir), { recursive: true, force: true });
      }
    },
    async close() {
      await compute.close();
      await gce.close();
      await sshd.stop();
    },
  };
}
