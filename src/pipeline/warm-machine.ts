import type { LocalMachine, Machine } from '../compute/driver.ts';
// A type only: the Compute Engine client is loaded only by processes configured for GCP.
import type { GcpDriver } from '../compute/gcp-driver.ts';
import { LocalDriver } from '../compute/local.ts';
import { gcpPoolOf } from '../db/warm-gateways.ts';
import type { WarmGateway } from '../db/warm-gateways.ts';
import { renderOpenclawConfig } from '../gateway/config.ts';
import { ensureGatewayRunning, stopGateway } from '../gateway/process.ts';
import type { Host } from '../hosts/host.ts';
import type { PipelineSettings } from './settings.ts';
import { gatewaySpec, OPENCLAW_CONFIG_REL, OPENCLAW_STATE_REL } from './steps/machine.ts';
import { runtimeFor } from './steps/runtime.ts';

/**
 * A pooled gateway's machine: how the pool starts one (an empty gateway on the same config a
 * tenant's will have, minus the tenant) and how a local one goes away again; which pools a
 * process fills and claims from (its host, or the GCP zones when new fleets go to GCP).
 */

/** The local driver, when this process has one that can make warm machines. */
export function warmDriverOf(settings: PipelineSettings): LocalDriver | undefined {
  const driver = settings.drivers.local;
  return driver instanceof LocalDriver ? driver : undefined;
}

/** The GCP driver, when new fleets go to GCP and this process has it. */
export function warmVmDriverOf(settings: PipelineSettings): GcpDriver | undefined {
  const driver = settings.drivers.gcp;
  return settings.computeDriver === 'gcp' && driver && 'createWarmMachine' in driver ? (driver as GcpDriver) : undefined;
}

/**
 * The pools this process fills and claims from, in claim order (warm_gateways.host_id): its host
 * for local machines; for GCP one per configured zone, in FLEET_GCP_ZONES order, as a cold
 * create tries them.
 */
export function warmPoolsOf(settings: PipelineSettings): string[] {
  if (settings.computeDriver !== 'gcp') return [settings.hostId];
  return warmVmDriverOf(settings)?.zones.map(gcpPoolOf) ?? [];
}

/** The machine a pool row stands for (a pooled VM's when the row has one). */
export function machineOfWarmRow(settings: PipelineSettings, row: WarmGateway): Machine {
  if (row.vmName === null) return machineOfWarmGateway(row);
  const driver = warmVmDriverOf(settings);
  if (!driver) throw new Error(`pooled VM ${row.vmName} needs the gcp driver, which this process does not have`);
  return driver.warmMachineOf({ id: row.id, zone: row.zone!, ip: row.ip ?? '', port: row.port });
}

/** The machine a local pool row stands for. */
export function machineOfWarmGateway(row: Pick<WarmGateway, 'id' | 'root' | 'port' | 'osUser'>): LocalMachine {
  return {
    driver: 'local',
    vmName: `warm-${row.id.replace(/_/g, '-')}`,
    ip: '127.0.0.1',
    root: row.root,
    gatewayPort: row.port,
    ...(row.osUser ? { osUser: row.osUser } : {}),
  };
}

// The placeholder agent of an empty gateway: OpenClaw wants one, and it holds nothing of anyone's.
const STANDBY_AGENT = 'standby';
const STANDBY_REL = 'openclaw/standby';

/**
 * Writes the empty gateway's openclaw.json and starts it, ready when this resolves. Its gateway
 * section (mode, port, bind, token auth) is exactly what agent_config will render for the tenant
 * who claims it, so the tenant's config changes only keys OpenClaw applies without a restart
 * (agents, bindings, channels, plugins: docs/architecture.md, "The warm pool").
 */
export async function startWarmGateway(
  host: Host,
  machine: Machine,
  token: string,
  settings: PipelineSettings,
  signal: AbortSignal,
): Promise<{ pid: number | undefined }> {
  const runtime = await runtimeFor(machine, host, settings, { signal });
  await host.mkdirp(`${STANDBY_REL}/workspace`);
  await host.mkdirp(OPENCLAW_STATE_REL);
  const config = renderOpenclawConfig({
    port: machine.gatewayPort,
    token,
    // As agent_config renders it: a VM's gateway serves the Control UI at the VM's address.
    bind: machine.driver === 'local' ? 'loopback' : 'lan',
    stateDir: host.resolve(OPENCLAW_STATE_REL),
    offline: settings.gatewayOffline,
    agents: [
      {
        id: STANDBY_AGENT,
        name: 'Standby',
        role: STANDBY_AGENT,
        workspace: host.resolve(`${STANDBY_REL}/workspace`),
        agentDir: host.resolve(`${STANDBY_REL}/agent`),
      },
    ],
  });
  await host.writeFileAtomic(OPENCLAW_CONFIG_REL, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  const res = await ensureGatewayRunning(host, {
    ...gatewaySpec(machine, host, runtime, token),
    timeoutMs: 5 * 60_000,
    signal,
    ensurePlugins: false,
  });
  return { pid: res.pid };
}

/** Stops the pooled gateway and deletes its machine (directory, service records, OS user). Idempotent. */
export async function destroyWarmMachine(driver: LocalDriver, machine: LocalMachine): Promise<void> {
  const host = await driver.openHost(machine).catch(() => undefined);
  if (host) {
    await stopGateway(host, { graceMs: 2000 }).catch(() => undefined);
    await host.close();
  }
  await driver.delete(machine);
}
