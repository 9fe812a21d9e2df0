import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import {
  ensureGatewayRunning,
  gatewayPidfile,
  isHealthy,
  isRunning,
  startGateway,
  stopGateway,
  waitHealthy,
} from '../../src/gateway/process.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../src/gateway/runtime.ts';
import { freePort, scratchDir } from './helpers.ts';

const STANDIN = fileURLToPath(new URL('./standin-gateway.mjs', import.meta.url));
const PROCESS_TS = fileURLToPath(new URL('../../src/gateway/process.ts', import.meta.url));
const TOKEN = 'tok_process_test_0123456789';

let runtime: OpenclawRuntime;
const started: string[] = []; // pidfiles to clean up

beforeAll(async () => {
  runtime = await ensureOpenclawRuntime({ cacheDir: scratchDir('cache'), standinCommand: STANDIN });
});

afterEach(async () => {
  for (const pidfile of started.splice(0)) await stopGateway(pidfile, { graceMs: 2000 });
});

async function fleet(env?: Record<string, string>) {
  const dir = scratchDir('proc');
  const configPath = join(dir, 'openclaw', 'openclaw.json');
  const port = await freePort();
  const options = {
    runtime,
    configPath,
    stateDir: join(dir, 'openclaw', 'state'),
    port,
    token: TOKEN,
    logFile: join(dir, 'openclaw', 'gateway.log'),
    env,
  };
  mkdirSync(join(dir, 'openclaw'), { recursive: true });
  writeFileSync(configPath, JSON.stringify({ gateway: { mode: 'local', port, auth: { mode: 'token', token: TOKEN } } }));
  started.push(gatewayPidfile(configPath));
  return options;
}

describe('the stand-in runtime', () => {
  it('runs the stand-in script with the current Node when FLEET_GATEWAY_COMMAND is set', () => {
    expect(runtime).toMatchObject({ kind: 'standin', nodeBin: process.execPath, openclawEntry: STANDIN });
  });
});

describe('startGateway', () => {
  it('starts the gateway detached in its own process group, with a pidfile, and it becomes healthy', async () => {
    const options = await fleet();
    const { pid, pidfile } = await startGateway(options);
    expect(readFileSync(pidfile, 'utf8').trim()).toBe(String(pid));
    expect(pidfile).toBe(join(options.configPath, '..', 'gateway.pid'));
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const processGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    expect(processGroup).toBe(pid);
    await waitHealthy({ port: options.port, timeoutMs: 10_000, pid });
    expect(await isHealthy(options.port)).toBe(true);
    // The token travels in the environment, not on the command line.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(TOKEN);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).toContain(`OPENCLAW_GATEWAY_TOKEN=${TOKEN}`);
    expect(readFileSync(options.logFile, 'utf8')).toContain('http server listening');
  });

  it('keeps the gateway running after the process that started it exits', async () => {
    const options = await fleet();
    const script = join(scratchDir('parent'), 'start.mts');
    writeFileSync(
      script,
      `import { startGateway } from ${JSON.stringify(PROCESS_TS)};\n` +
        `import { ensureOpenclawRuntime } from ${JSON.stringify(PROCESS_TS.replace('process.ts', 'runtime.ts'))};\n` +
        `const o = JSON.parse(process.env.OPTIONS);\n` +
        `const runtime = await ensureOpenclawRuntime({ cacheDir: process.env.CACHE_DIR, standinCommand: process.env.STANDIN });\n` +
        `const { pid } = await startGateway({ ...o, runtime });\n` +
        `console.log(pid);\n`,
    );
    const { runtime: _runtime, ...plain } = options;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, OPTIONS: JSON.stringify(plain), CACHE_DIR: scratchDir('cache'), STANDIN },
    });
    const pid = Number(stdout.trim());
    await waitHealthy({ port: options.port, timeoutMs: 10_000, pid });
    expect(isRunning(pid)).toBe(true);
  });
});

describe('ensureGatewayRunning', () => {
  it('starts a gateway, then leaves a healthy one alone', async () => {
    const options = await fleet();
    const first = await ensureGatewayRunning({ ...options, timeoutMs: 10_000 });
    expect(first.restarted).toBe(true);
    expect(first.ms).toBeGreaterThan(0);
    const second = await ensureGatewayRunning({ ...options, timeoutMs: 10_000 });
    expect(second).toEqual({ restarted: false, pid: first.pid });
    expect(isRunning(first.pid!)).toBe(true);
  });

  it('starts a new gateway when the old one is gone', async () => {
    const options = await fleet();
    const first = await ensureGatewayRunning({ ...options, timeoutMs: 10_000 });
    process.kill(first.pid!, 'SIGKILL');
    await expect.poll(() => isRunning(first.pid!)).toBe(false);
    const second = await ensureGatewayRunning({ ...options, timeoutMs: 10_000 });
    expect(second.restarted).toBe(true);
    expect(second.pid).not.toBe(first.pid);
  });

  it('waits for a gateway that a previous attempt left starting instead of starting another', async () => {
    const options = await fleet({ FLEET_STANDIN_LISTEN_DELAY_MS: '1500' });
    const { pid } = await startGateway(options);
    const result = await ensureGatewayRunning({ ...options, timeoutMs: 10_000 });
    expect(result).toEqual({ restarted: false, pid });
  });

  it('stops the gateway it started when it does not become healthy in time', async () => {
    const options = await fleet({ FLEET_STANDIN_NEVER_READY: '1' });
    const error = await ensureGatewayRunning({ ...options, timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(existsSync(gatewayPidfile(options.configPath))).toBe(false);
    expect(await isHealthy(options.port)).toBe(false);
  });
});

describe('waitHealthy', () => {
  it('times out with a TransientError naming the last answer and the log file', async () => {
    const options = await fleet({ FLEET_STANDIN_NEVER_READY: '1' });
    const { pid } = await startGateway(options);
    const error = (await waitHealthy({ port: options.port, timeoutMs: 1500, pid, logFile: options.logFile }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(`127.0.0.1:${options.port} was not healthy after 2 s`);
    expect(error.message).toContain('/readyz: HTTP 503');
    expect(error.message).toContain(options.logFile);
  });

  it('says so at once when the gateway exits during startup', async () => {
    const options = await fleet({ FLEET_STANDIN_EXIT_CODE: '3' });
    const { pid } = await startGateway(options);
    const began = Date.now();
    const error = (await waitHealthy({ port: options.port, timeoutMs: 20_000, pid, logFile: options.logFile }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toContain(`pid ${pid}) exited during startup`);
    expect(error.message).toContain(options.logFile);
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('reports a port nobody listens on', async () => {
    const error = (await waitHealthy({ port: await freePort(), timeoutMs: 600 }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('/healthz: ECONNREFUSED');
  });
});

describe('stopGateway', () => {
  it('stops the gateway and removes its pidfile; a second stop does nothing', async () => {
    const options = await fleet();
    const { pid, pidfile } = await startGateway(options);
    await waitHealthy({ port: options.port, timeoutMs: 10_000, pid });
    expect(await stopGateway(pidfile)).toEqual({ stopped: true, pid, killed: false });
    expect(isRunning(pid)).toBe(false);
    expect(existsSync(pidfile)).toBe(false);
    expect(await isHealthy(options.port)).toBe(false);
    expect(await stopGateway(pidfile)).toEqual({ stopped: false, pid: undefined });
  });

  it('kills a gateway that ignores SIGTERM after the grace period', async () => {
    const options = await fleet({ FLEET_STANDIN_IGNORE_SIGTERM: '1' });
    const { pid } = await startGateway(options);
    await waitHealthy({ port: options.port, timeoutMs: 10_000, pid });
    expect(await stopGateway(pid, { graceMs: 500 })).toEqual({ stopped: true, pid, killed: true });
    expect(isRunning(pid)).toBe(false);
  });

  it('does not kill an unrelated process that reused the pid in a stale pidfile', async () => {
    const options = await fleet();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(gatewayPidfile(options.configPath), `${sleeper.pid}\n`);
      expect(await stopGateway(gatewayPidfile(options.configPath))).toEqual({ stopped: false, pid: sleeper.pid });
      expect(isRunning(sleeper.pid!)).toBe(true);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
