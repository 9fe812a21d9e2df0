import type { Machine } from '../../compute/driver.ts';
import { TerminalError } from '../../domain/step-errors.ts';
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
    const runtime = await ensureOpenclawRuntime({
      cacheDir: settings.runtimeCacheDir,
      standinCommand: settings.gatewayCommand,
      log: opts.log,
    });
    if (machine.driver === 'local' && machine.osUser) await checkRunnableByFleetUser(host, runtime);
    return runtime;
  }
  return ensureRuntimeOnVm(host, { home: openclawHome(machine, host), log: opts.log ?? (() => undefined), signal: opts.signal });
}

/** The shared runtime must be readable (never writable) by the fleet's own user, which runs it. */
async function checkRunnableByFleetUser(host: Host, runtime: OpenclawRuntime): Promise<void> {
  const probe = await host.exec('/bin/sh', ['-c', 'test -x "$1" && test -r "$2"', 'sh', runtime.nodeBin, runtime.openclawEntry], {
    timeoutMs: 10_000,
  });
  if (probe.code !== 0) {
    throw new TerminalError(
      `The fleet's OS user cannot run the OpenClaw runtime in ${runtime.dir}: a directory on its path is closed to other users. ` +
        'Set FLEET_RUNTIME_CACHE_DIR to a directory every user may read (the default for root is /var/cache/agent-fleet), then retry.',
    );
  }
}
