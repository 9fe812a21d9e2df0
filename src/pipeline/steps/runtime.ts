import type { Machine } from '../../compute/driver.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../gateway/runtime.ts';
import { ensureRuntimeOnVm } from '../../gateway/runtime-on-vm.ts';
import type { Host } from '../../hosts/host.ts';
import type { PipelineSettings } from '../settings.ts';
import { openclawHome } from './machine.ts';

/**
 * The OpenClaw runtime on the machine the gateway runs on. The local driver's machines share this
 * host's runtime cache (installed once, with a cross-process lock); a VM gets its own install, from
 * the same lockfiles. The test-only stand-in gateway is a script beside the tests, which runs
 * wherever this repository's checkout is reachable.
 */
export async function runtimeFor(
  machine: Machine,
  host: Host,
  settings: PipelineSettings,
  opts: { log?: (message: string) => void; signal?: AbortSignal } = {},
): Promise<OpenclawRuntime> {
  if (machine.driver === 'local' || settings.gatewayCommand) {
    return ensureOpenclawRuntime({ cacheDir: settings.runtimeCacheDir, standinCommand: settings.gatewayCommand, log: opts.log });
  }
  return ensureRuntimeOnVm(host, { home: openclawHome(machine, host), log: opts.log ?? (() => undefined), signal: opts.signal });
}
