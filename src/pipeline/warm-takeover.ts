import { setTimeout as sleep } from 'node:timers/promises';
import { isLiveAndReady } from '../gateway/health.ts';
import { gatewayIdentity } from '../gateway/identity.ts';
import { installedDiscordPluginVersion } from '../gateway/plugins.ts';
import type { OpenclawRuntime } from '../gateway/runtime.ts';
import { GATEWAY_SERVICE } from '../gateway/service.ts';
import type { Host } from '../hosts/host.ts';

/**
 * gateway_start on a machine that came from the warm pool: the gateway runs already, and
 * agent_config has written the tenant's openclaw.json into its machine. OpenClaw watches that
 * file; with `gateway.reload.mode` hybrid (its default) a change to agents, bindings, channels or
 * plugins applies without a restart and is logged as `config hot reload applied (<paths>)` (or,
 * for keys read on demand, `config change applied (dynamic reads: <paths>)`). Taken over means:
 * the gateway proves it holds the fleet's token, that line names the agents, and then /healthz
 * and /readyz answer. Anything else is a reason for the caller to cold-start instead.
 */
export type Takeover = { ok: true; ms: number } | { ok: false; reason: string };

const APPLIED = /config (?:hot reload applied|change applied) \(([^)\n]*)\)/g;
const NEEDS_RESTART = /config change requires gateway restart \(([^)\n]*)\)/;
const REFUSED = /config reload skipped \(invalid config\)[^\n]*/;

export async function takeOverWarmGateway(
  host: Host,
  opts: {
    runtime: OpenclawRuntime;
    port: number;
    token: string;
    logRel: string;
    stateRel: string;
    configEnablesDiscord: boolean;
    timeoutMs: number;
    signal: AbortSignal;
  },
): Promise<Takeover> {
  const started = performance.now();
  // The Discord plugin is installed before a gateway starts (plugins.ts); a pooled one has none.
  if (opts.configEnablesDiscord && opts.runtime.kind !== 'standin' && !(await installedDiscordPluginVersion(host, opts.stateRel))) {
    return { ok: false, reason: 'the tenant uses Discord, whose plugin is installed only before a gateway starts' };
  }
  const deadline = Date.now() + opts.timeoutMs;
  // The token does not change with the reload: the gateway proves it holds it while OpenClaw is
  // still noticing the new file (its watcher waits for the write to settle, then debounces:
  // most of a second), so once the reload is logged only one health round trip is left.
  let proven = false;
  for (;;) {
    opts.signal.throwIfAborted();
    if (!(await host.serviceStatus(GATEWAY_SERVICE)).running) return { ok: false, reason: 'the pooled gateway is not running' };
    if (!proven) {
      // Bounded by the wait left: a hung gateway must not hold the step past it, twice over.
      const identity = await gatewayIdentity(host, opts.port, opts.token, Math.max(100, Math.min(2000, deadline - Date.now())));
      if (identity.verdict === 'foreign') return { ok: false, reason: 'the gateway on its port holds another token' };
      proven = identity.verdict === 'ours';
    }
    const log = await host.readFile(opts.logRel).catch(() => '');
    const restart = NEEDS_RESTART.exec(log);
    if (restart) return { ok: false, reason: `the tenant's config needs a gateway restart (${restart[1]})` };
    const refused = REFUSED.exec(log);
    if (refused) return { ok: false, reason: `the pooled gateway refused the tenant's config: ${refused[0].slice(0, 300)}` };
    const reloaded = [...log.matchAll(APPLIED)].some((m) => /\bagents\b/.test(m[1] ?? ''));
    if (reloaded && proven && (await isLiveAndReady(host, opts.port))) return { ok: true, ms: Math.round(performance.now() - started) };
    if (Date.now() >= deadline) {
      const missing = !reloaded ? "reload with the tenant's agents" : !proven ? "prove it holds the fleet's token" : 'answer /readyz';
      return { ok: false, reason: `the pooled gateway did not ${missing} within ${Math.round(opts.timeoutMs / 1000)} s` };
    }
    // Each look is a service check and a file read on the machine (locally, microseconds; over
    // SSH a round trip each, which paces the loop): every 100 ms of the old interval was up to
    // 100 ms more of the tenant's wait.
    await sleep(POLL_MS, undefined, { signal: opts.signal }).catch(() => undefined);
  }
}

const POLL_MS = 25;
