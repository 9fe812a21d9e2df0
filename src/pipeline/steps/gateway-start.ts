import { createHash } from 'node:crypto';
import { getSecrets } from '../../db/secrets.ts';
import { SECRET } from '../../domain/fleet-settings.ts';
import { ensureGatewayRunning, stopGateway } from '../../gateway/process.ts';
import { claimedBy, deleteWarmGateway } from '../../db/warm-gateways.ts';
import type { OpenclawRuntime } from '../../gateway/runtime.ts';
import { GATEWAY_SERVICE } from '../../gateway/service.ts';
import type { Host } from '../../hosts/host.ts';
import type { StepContext, StepDefinition } from '../step.ts';
import { takeOverWarmGateway } from '../warm-takeover.ts';
import { GATEWAY_LOG_REL, gatewaySpec, hostOf, machineOf, OPENCLAW_CONFIG_REL, OPENCLAW_STATE_REL } from './machine.ts';
import { runtimeFor } from './runtime.ts';

// The hash of the openclaw.json the running gateway was started with.
const STARTED_WITH_REL = 'openclaw/gateway.config.sha256';

/**
 * Makes sure the pinned OpenClaw runtime is installed (once per machine, shared by all fleets —
 * the wait of a first provision, said so in the log), then starts the gateway unless it is
 * already healthy. A machine that came from the warm pool has its gateway running already: the
 * step waits for it to reload with the tenant's config instead, and starts it cold if it does not.
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
    const warm = await takeOverIfWarm(ctx, host, runtime, token);
    if (warm.ok) {
      await host.writeFileAtomic(STARTED_WITH_REL, `${configHash}\n`);
      return {
        message: `OpenClaw ${runtime.versions.openclaw} gateway from the warm pool took the fleet's configuration (pid ${warm.pid}) on port ${machine.gatewayPort}; reloaded with ${ctx.fleet.agents.length} agent${ctx.fleet.agents.length > 1 ? 's' : ''} and /readyz answered in ${(warm.ms / 1000).toFixed(1)} s`,
        output: {
          pid: warm.pid ?? null,
          port: machine.gatewayPort,
          runtime: runtime.kind,
          openclawVersion: runtime.versions.openclaw,
          warm: true,
        },
      };
    }
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

/**
 * When vm_create gave this fleet a pooled gateway (its claim is still recorded), waits for that
 * gateway to reload with the tenant's config (warm-takeover.ts). Either way the claim's record
 * goes: taken over, the machine is simply the fleet's; not, the gateway is stopped and the step
 * cold-starts it in the same machine, with the reason in the log.
 */
async function takeOverIfWarm(
  ctx: StepContext,
  host: Host,
  runtime: OpenclawRuntime,
  token: string,
): Promise<{ ok: true; ms: number; pid: number | undefined } | { ok: false }> {
  const claim = await claimedBy(ctx.db, ctx.settings.box, ctx.fleet.id);
  const machine = machineOf(ctx);
  if (!claim || claim.gateway.root !== machine.root) return { ok: false };
  const config = JSON.parse(await host.readFile(OPENCLAW_CONFIG_REL)) as { channels?: { discord?: unknown } };
  const taken = await takeOverWarmGateway(host, {
    runtime,
    port: machine.gatewayPort,
    token,
    logRel: GATEWAY_LOG_REL,
    stateRel: OPENCLAW_STATE_REL,
    configEnablesDiscord: config.channels?.discord !== undefined,
    timeoutMs: ctx.settings.warmReloadTimeoutMs,
    signal: ctx.signal,
  });
  if (taken.ok) {
    await deleteWarmGateway(ctx.db, claim.gateway.id);
    return { ...taken, pid: (await host.serviceStatus(GATEWAY_SERVICE)).pid };
  }
  ctx.log.warn({ reason: taken.reason, warmGateway: claim.gateway.id }, 'warm pool: the claimed gateway was not taken over; cold start');
  await ctx.progress(`The pooled gateway was not usable (${taken.reason}); starting the gateway cold`);
  await stopGateway(host, { graceMs: 2000 });
  await deleteWarmGateway(ctx.db, claim.gateway.id);
  return { ok: false };
}
