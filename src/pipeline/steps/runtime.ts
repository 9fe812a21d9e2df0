import type { Machine } from '../../compute/driver.ts';
import { TerminalError } from '../../domain/step-errors.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../gateway/runtime.ts';
import type { PipelineSettings } from '../settings.ts';

/**
 * The OpenClaw runtime on the machine the gateway runs on. The local driver's machines share this
 * host's runtime cache (installed once, with a cross-process lock). The test-only stand-in gateway
 * is a script beside the tests, which runs wherever this repository's checkout is reachable.
 */
export async function runtimeFor(machine: Machine, settings: PipelineSettings, log?: (message: string) => void): Promise<OpenclawRuntime> {
  if (machine.driver === 'local' || settings.gatewayCommand) {
    return ensureOpenclawRuntime({ cacheDir: settings.runtimeCacheDir, standinCommand: settings.gatewayCommand, log });
  }
  throw new TerminalError(
    `Installing the OpenClaw runtime on a ${machine.driver} VM is not available in this version. Provision on the local driver (FLEET_COMPUTE=local).`,
  );
}
