/**
 * The gateway as an OS process: started detached (it must outlive the worker that started it;
 * the next worker finds it through its pidfile and its health endpoints), stopped through its
 * process group (the gateway runs helper processes such as its spawn broker).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { writeFileAtomic } from '../hosts/atomic-write.ts';
import { openclawEnv } from './env.ts';
import { isHealthy, waitHealthy } from './health.ts';
import { isRunning, processCommandLine } from './pid.ts';
import { ensureDiscordPlugin } from './plugins.ts';
import { openclawCommand, type OpenclawRuntime } from './runtime.ts';

export { isRunning } from './pid.ts';
export { isHealthy, waitHealthy } from './health.ts';

export interface StartGatewayOptions {
  runtime: OpenclawRuntime;
  configPath: string;
  stateDir: string;
  port: number;
  token: string;
  /** stdout and stderr of the gateway are appended here. */
  logFile: string;
  /** Extra environment for the gateway; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
}

/** Where the pid of the gateway using `configPath` is kept: `gateway.pid` next to the config. */
export function gatewayPidfile(configPath: string): string {
  return join(dirname(configPath), 'gateway.pid');
}

/**
 * Starts `openclaw gateway run --port N --auth token` detached, in its own process group, and
 * writes its pid to the pidfile. Returns as soon as the process exists; use waitHealthy next.
 * The token goes through OPENCLAW_GATEWAY_TOKEN (the documented default of `--token`), not argv,
 * where every user on the host could read it in `ps`.
 */
export async function startGateway(options: StartGatewayOptions): Promise<{ pid: number; pidfile: string }> {
  const { runtime } = options;
  await mkdir(options.stateDir, { recursive: true });
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = await open(options.logFile, 'a', 0o600);
  let pid: number;
  try {
    await log.write(`\n--- agent-fleet: starting gateway on 127.0.0.1:${options.port} at ${new Date().toISOString()} ---\n`);
    const { command, args } = openclawCommand(runtime, ['gateway', 'run', '--port', String(options.port), '--auth', 'token']);
    const child = spawn(command, args, {
      cwd: options.stateDir,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: openclawEnv(runtime, { configPath: options.configPath, stateDir: options.stateDir, token: options.token, extra: options.env }),
    });
    try {
      await once(child, 'spawn');
    } catch (error) {
      throw new TerminalError(
        `Could not start the gateway (${command}): ${(error as Error).message}. Delete ${runtime.dir} to reinstall the runtime, then retry.`,
        { cause: error },
      );
    }
    child.unref();
    pid = child.pid!;
  } finally {
    await log.close(); // the child has its own copy of the descriptor
  }
  const pidfile = gatewayPidfile(options.configPath);
  await writeFileAtomic(pidfile, `${pid}\n`, 0o644);
  return { pid, pidfile };
}

/** The pid in a pidfile, or undefined when it is missing or unreadable. */
export async function readPidfile(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidfile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a live pid from a pidfile is still our gateway and not an unrelated process that got the
 * recycled pid. The real gateway renames itself `openclaw-gateway`; the stand-in keeps its argv.
 */
export function looksLikeGateway(pid: number): boolean {
  const commandLine = processCommandLine(pid);
  return commandLine === undefined || /gateway/.test(commandLine);
}

export interface StopResult {
  /** False when there was nothing to stop. */
  stopped: boolean;
  pid?: number;
  /** True when SIGTERM was not enough within the grace period. */
  killed?: boolean;
}

/**
 * Stops a gateway given its pidfile or pid: SIGTERM to its process group, SIGKILL after
 * `graceMs` (the gateway drains and exits in 0.1–2 s here). Removes the pidfile. Idempotent.
 */
export async function stopGateway(pidfileOrPid: string | number, options: { graceMs?: number } = {}): Promise<StopResult> {
  const pidfile = typeof pidfileOrPid === 'string' ? pidfileOrPid : undefined;
  const pid = pidfile === undefined ? (pidfileOrPid as number) : await readPidfile(pidfile);
  const forget = async () => {
    if (pidfile !== undefined) await rm(pidfile, { force: true });
  };
  if (pid === undefined || !isRunning(pid) || (pidfile !== undefined && !looksLikeGateway(pid))) {
    await forget();
    return { stopped: false, pid };
  }
  signalGroup(pid, 'SIGTERM');
  const graceMs = options.graceMs ?? 15_000;
  let killed = false;
  if (!(await waitForExit(pid, graceMs))) {
    killed = true;
    signalGroup(pid, 'SIGKILL');
    if (!(await waitForExit(pid, 5_000))) {
      throw new TransientError(`The gateway (pid ${pid}) did not exit even after SIGKILL; retry in a moment.`);
    }
  }
  // Helpers in the group that ignored SIGTERM must not outlive the gateway. Group only: the pid
  // alone may already belong to another process.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
  await forget();
  return { stopped: true, pid, killed };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Not a group leader (started by someone else) or already gone: signal the process alone.
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

export interface EnsureGatewayOptions extends StartGatewayOptions {
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
 * Makes sure the gateway for this config is running and healthy on `port`: does nothing when it
 * already is, waits for one that a previous attempt left starting, otherwise (re)starts it. The
 * caller owns the port: whatever answers healthy on it is taken to be this fleet's gateway.
 */
export async function ensureGatewayRunning(options: EnsureGatewayOptions): Promise<EnsureGatewayResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const pidfile = gatewayPidfile(options.configPath);
  const previous = await readPidfile(pidfile);
  if (await isHealthy(options.port)) return { restarted: false, pid: previous };

  if (previous !== undefined && isRunning(previous) && looksLikeGateway(previous)) {
    // A worker that died right after starting it leaves a gateway still starting up: give it its
    // chance before starting over.
    try {
      await waitHealthy({ port: options.port, timeoutMs, pid: previous, logFile: options.logFile, signal: options.signal });
      return { restarted: false, pid: previous };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      await stopGateway(pidfile);
    }
  }

  if (options.ensurePlugins !== false && (await configEnablesDiscord(options.configPath))) {
    await ensureDiscordPlugin({ runtime: options.runtime, stateDir: options.stateDir, log: options.log });
  }
  const { pid } = await startGateway(options);
  try {
    const { ms } = await waitHealthy({ port: options.port, timeoutMs, pid, logFile: options.logFile, signal: options.signal });
    return { restarted: true, pid, ms };
  } catch (error) {
    // Do not leave a half-started gateway holding the port; the retry starts a fresh one.
    await stopGateway(pidfile).catch(() => undefined);
    throw error;
  }
}

async function configEnablesDiscord(configPath: string): Promise<boolean> {
  let config: { channels?: { discord?: unknown } };
  try {
    config = JSON.parse(await readFile(configPath, 'utf8')) as typeof config;
  } catch (error) {
    throw new TerminalError(
      `Cannot read the gateway config ${configPath} (${(error as Error).message}); the agent_config step writes it. Retry from there.`,
      { cause: error },
    );
  }
  return config.channels?.discord !== undefined;
}
