import { ensureGatewayRunning } from '../../gateway/process.ts';
import { ensureOpenclawRuntime } from '../../gateway/runtime.ts';
import { getSecrets } from '../../secrets/store.ts';
import type { StepDefinition } from '../step.ts';
import { gatewayOptions, machineOf } from './machine.ts';

/**
 * Makes sure the pinned OpenClaw runtime is installed (once per machine, shared by all fleets —
 * the wait of a first provision, said so in the log), then starts the gateway unless it is
 * already healthy.
 */
export const gatewayStart: StepDefinition = {
  name: 'gateway_start',
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const machine = machineOf(ctx);
    let installing = false;
    const runtime = await ensureOpenclawRuntime({
      cacheDir: ctx.settings.runtimeCacheDir,
      log: (message) => {
        ctx.log.info({ message }, 'openclaw runtime');
        if (!installing) {
          installing = true;
          void ctx.progress(
            'Installing the OpenClaw runtime on this machine (first provision only: a few minutes; later fleets reuse it)',
          );
        }
      },
    });
    const { gateway_token: token } = await getSecrets(ctx.db, ctx.settings.box, ctx.fleet.id);
    if (!token) throw new Error('the gateway token written by vm_create is missing');
    const started = performance.now();
    const res = await ensureGatewayRunning(gatewayOptions(machine, runtime, token, ctx.signal));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return {
      message: res.restarted
        ? `OpenClaw ${runtime.versions.openclaw} gateway started (pid ${res.pid}) on port ${machine.gatewayPort}; /healthz and /readyz answered in ${seconds} s${installing ? ' after installing the runtime' : ''}`
        : `OpenClaw gateway already healthy on port ${machine.gatewayPort}; not restarted`,
      output: { pid: res.pid ?? null, port: machine.gatewayPort, runtime: runtime.kind, openclawVersion: runtime.versions.openclaw },
    };
  },
};
