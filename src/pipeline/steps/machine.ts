import path from 'node:path';
import type { EnsureGatewayOptions } from '../../gateway/process.ts';
import type { OpenclawRuntime } from '../../gateway/runtime.ts';
import { LocalHost } from '../../hosts/local-host.ts';
import type { StepContext } from '../step.ts';

/** The machine vm_create allocated, as later steps need it. */
export interface MachineOutput {
  vmName: string;
  root: string;
  ip: string;
  gatewayPort: number;
}

export function machineOf(ctx: StepContext): MachineOutput {
  const out = ctx.outputs.vm_create as MachineOutput | undefined;
  if (!out) throw new Error('vm_create has no checkpoint; it must complete before this step');
  return out;
}

export const hostOf = (ctx: StepContext) => new LocalHost(machineOf(ctx).root);

/** Workspace of an agent, relative to the machine root. */
export const workspaceRel = (agent: string) => `workspaces/${agent}`;
export const OPENCLAW_CONFIG_REL = 'openclaw/openclaw.json';
export const OPENCLAW_STATE_REL = 'openclaw/state';
export const GATEWAY_LOG_REL = 'openclaw/gateway.log';

/** The gateway of a machine, as ensureGatewayRunning wants it (used by gateway_start and restarts). */
export function gatewayOptions(
  machine: MachineOutput,
  runtime: OpenclawRuntime,
  token: string,
  signal?: AbortSignal,
): EnsureGatewayOptions {
  return {
    runtime,
    configPath: path.join(machine.root, OPENCLAW_CONFIG_REL),
    stateDir: path.join(machine.root, OPENCLAW_STATE_REL),
    port: machine.gatewayPort,
    token,
    logFile: path.join(machine.root, GATEWAY_LOG_REL),
    timeoutMs: 5 * 60_000,
    signal,
  };
}
