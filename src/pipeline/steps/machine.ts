import os from 'node:os';
import type { Machine } from '../../compute/driver.ts';
import type { GatewaySpec } from '../../gateway/process.ts';
import type { OpenclawRuntime } from '../../gateway/runtime.ts';
import type { Host } from '../../hosts/host.ts';
import type { StepContext } from '../step.ts';

/** The machine vm_create made, as later steps need it (checkpoints from before drivers were local). */
export function machineOf(ctx: Pick<StepContext, 'outputs'>): Machine {
  const out = ctx.outputs.vm_create as (Omit<Machine, 'driver'> & { driver?: Machine['driver'] }) | undefined;
  if (!out) throw new Error('vm_create has no checkpoint; it must complete before this step');
  return { ...out, driver: out.driver ?? 'local' } as Machine;
}

/** The run's host on the fleet's machine (one per run; the executor closes it). */
export const hostOf = (ctx: StepContext): Promise<Host> => ctx.machine.host(machineOf(ctx));

/** Workspace of an agent, relative to the machine root. */
export const workspaceRel = (agent: string) => `workspaces/${agent}`;
export const OPENCLAW_CONFIG_REL = 'openclaw/openclaw.json';
export const OPENCLAW_STATE_REL = 'openclaw/state';
export const GATEWAY_LOG_REL = 'openclaw/gateway.log';

/**
 * HOME of the openclaw processes: a directory of the fleet's, on a VM and for a local machine with
 * an OS user of its own; on a shared local driver the control plane's own (its npm cache holds the
 * runtime's downloads, which plugin installs reuse).
 */
export const openclawHome = (machine: Machine, host: Host): string =>
  machine.driver === 'local' && !machine.osUser ? os.homedir() : host.resolve('openclaw/home');

/** The gateway's Control UI, where the machine is reachable (loopback locally, the VM's external IP). */
export const dashboardUrlOf = (machine: Machine): string => `http://${machine.ip}:${machine.gatewayPort}/`;

/** The gateway of a machine, as ensureGatewayRunning wants it (used by gateway_start and restarts). */
export function gatewaySpec(machine: Machine, host: Host, runtime: OpenclawRuntime, token: string): GatewaySpec {
  return {
    runtime,
    configRel: OPENCLAW_CONFIG_REL,
    stateRel: OPENCLAW_STATE_REL,
    logRel: GATEWAY_LOG_REL,
    port: machine.gatewayPort,
    token,
    home: openclawHome(machine, host),
  };
}
