import { createHash } from 'node:crypto';
import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { ensureGatewayRunning, stopGateway } from '../../gateway/process.ts';
import type { StepDefinition } from '../step.ts';
import { gatewaySpec, hostOf, machineOf, OPENCLAW_CONFIG_REL } from './machine.ts';
import { runtimeFor } from './runtime.ts';

// The hash of the openclaw.json the running gateway was started with.
const STARTED_WITH_REL = 'openclaw/gateway.config.sha256';

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
    const host = await hostOf(ctx);
    let installing = false;
    const log = (message: string) => {
      ctx.log.info({ message }, 'openclaw runtime');
      if (!installing) {
        installing = true;
        void ctx.progress(
          machine.driver === 'local'
            ? 'Installing the OpenClaw runtime on this machine (first provision only: a few minutes; later fleets reuse it)'
            : 'Installing the OpenClaw runtime on the VM (a few minutes)',
        );
      }
    };
    const runtime = await runtimeFor(machine, host, ctx.settings, { log, signal: ctx.signal });
    const { [SECRET.gatewayToken]: token } = await getSecrets(ctx.db, ctx.settings.box, ctx.fleet.id);
    if (!token) throw new Error('the gateway token written by vm_create is missing');
    // Provisioned again with new settings (a fixed bot token): a healthy gateway still runs the old
    // config, so restart it rather than leave it be.
    const configHash = createHash('sha256')
      .update(await host.readFile(OPENCLAW_CONFIG_REL))
      .digest('hex');
    const startedWith = (await host.exists(STARTED_WITH_REL)) ? (await host.readFile(STARTED_WITH_REL)).trim() : undefined;
    const configChanged = startedWith !== undefined && startedWith !== configHash;
    if (configChanged) await stopGateway(host);
    const started = performance.now();
    const res = await ensureGatewayRunning(host, {
      ...gatewaySpec(machine, host, runtime, token),
      timeoutMs: 5 * 60_000,
      signal: ctx.signal,
    });
    await host.writeFileAtomic(STARTED_WITH_REL, `${configHash}\n`);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    return {
      message: res.restarted
        ? `OpenClaw ${runtime.versions.openclaw} gateway ${configChanged ? 'restarted with its new configuration' : 'started'} (pid ${res.pid}) on port ${machine.gatewayPort}; /healthz and /readyz answered in ${seconds} s${installing ? ' after installing the runtime' : ''}`
        : `OpenClaw gateway already healthy on port ${machine.gatewayPort}; not restarted`,
      output: { pid: res.pid ?? null, port: machine.gatewayPort, runtime: runtime.kind, openclawVersion: runtime.versions.openclaw },
    };
  },
};
