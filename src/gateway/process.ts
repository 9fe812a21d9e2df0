/**
 * The gateway as a service on its machine, through the Host: started detached (it must outlive
 * the worker that started it; the next worker finds it through the host's service record and its
 * health endpoints), stopped with its whole process group (the gateway runs helper processes such
 * as its spawn broker). Paths are relative to the machine root.
 */
import { TerminalError } from '../domain/step-errors.ts';
import type { Host, StopResult } from '../hosts/host.ts';
import { openclawEnv } from './env.ts';
import { isHealthy, waitHealthy } from './health.ts';
import { ensureDiscordPlugin } from './plugins.ts';
import { openclawCommand, type OpenclawRuntime } from './runtime.ts';
import { GATEWAY_SERVICE } from './service.ts';

export { isHealthy, waitHealthy } from './health.ts';

export interface GatewaySpec {
  runtime: OpenclawRuntime;
  /** openclaw.json, relative to the machine root. */
  configRel: string;
  stateRel: string;
  /** stdout and stderr of the gateway are appended here. */
  logRel: string;
  port: number;
  token: string;
  /** HOME of the gateway (absolute on the machine). */
  home: string;
  /** Extra environment for the gateway; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

/**
 * Starts `openclaw gateway run --port N --auth token` as the machine's gateway service. Returns as
 * soon as the process exists; use waitHealthy next. The token goes through OPENCLAW_GATEWAY_TOKEN
 * (the documented default of `--token`), not argv, where every user of the machine could read it.
 */
export async function startGateway(host: Host, spec: GatewaySpec): Promise<{ pid: number }> {
  const { runtime } = spec;
  await host.mkdirp(spec.stateRel);
  const { command, args } = openclawCommand(runtime, ['gateway', 'run', '--port', String(spec.port), '--auth', 'token']);
  const env = openclawEnv(runtime, {
    configPath: host.resolve(spec.configRel),
    stateDir: host.resolve(spec.stateRel),
    token: spec.token,
    home: spec.home,
    extra: spec.env,
  });
  try {
    return await host.startService({ name: GATEWAY_SERVICE, command, args, env, cwd: spec.stateRel, logFile: spec.logRel });
  } catch (error) {
    throw new TerminalError(
      `Could not start the gateway (${command}): ${(error as Error).message}. Delete ${runtime.dir} to reinstall the runtime, then retry.`,
      { cause: error },
    );
  }
}

/** Stops the machine's gateway service, SIGKILL after `graceMs` (it drains and exits in 0.1–2 s here). Idempotent. */
export function stopGateway(host: Host, options: { graceMs?: number } = {}): Promise<StopResult> {
  return host.stopService(GATEWAY_SERVICE, options);
}

export interface EnsureGatewayOptions extends GatewaySpec {
  /** How long to wait for /healthz + /readyz. Default 120 s (about 30 s on 2 busy cores). */
  timeoutMs?: number;
  /** Cancels the wait for health. */
  signal?: AbortSignal;
  /** Before starting: install the Discord plugin into the state dir when the config enables
   * Discord (see plugins.ts). Default true. */
  ensurePlugins?: boolean;
  log?: (message: string) => void;
}

export interface EnsureGatewayResult {
  /** True when this call started a gateway process. */
  restarted: boolean;
  pid?: number;
  /** Time from start to ready, when this call started it. */
  ms?: number;
}

/**
 * Makes sure the machine's gateway is running and healthy on `port`: does nothing when it already
 * is, waits for one that a previous attempt left starting, otherwise (re)starts it.
 */
export async function ensureGatewayRunning(host: Host, options: EnsureGatewayOptions): Promise<EnsureGatewayResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  // The token makes every health check also ask the gateway to prove it is this fleet's own.
  const wait = { port: options.port, token: options.token, timeoutMs, watchService: true, logFile: options.logRel, signal: options.signal };
  const status = await host.serviceStatus(GATEWAY_SERVICE);
  if (status.running && (await isHealthy(host, options.port, options.token))) return { restarted: false, pid: status.pid };

  if (status.running) {
    // A worker that died right after starting it leaves a gateway still starting up: give it its
    // chance before starting over.
    try {
      await waitHealthy(host, wait);
      return { restarted: false, pid: status.pid };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      await stopGateway(host);
    }
  }

  if (options.ensurePlugins !== false && (await configEnablesDiscord(host, options.configRel))) {
    await ensureDiscordPlugin(host, { runtime: options.runtime, stateRel: options.stateRel, home: options.home, log: options.log });
  }
  const { pid } = await startGateway(host, options);
  try {
    const { ms } = await waitHealthy(host, wait);
    return { restarted: true, pid, ms };
  } catch (error) {
    // Do not leave a half-started gateway holding the port; the retry starts a fresh one.
    await stopGateway(host).catch(() => undefined);
    throw error;
  }
}

async function configEnablesDiscord(host: Host, configRel: string): Promise<boolean> {
  let config: { channels?: { discord?: unknown } };
  try {
    config = JSON.parse(await host.readFile(configRel)) as typeof config;
  } catch (error) {
    throw new TerminalError(
      `Cannot read the gateway config ${configRel} (${(error as Error).message}); the agent_config step writes it. Retry from there.`,
      { cause: error },
    );
  }
  return config.channels?.discord !== undefined;
}
