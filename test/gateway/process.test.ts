import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { ensureGatewayRunning, type GatewaySpec, isHealthy, startGateway, stopGateway, waitHealthy } from '../../src/gateway/process.ts';
import { ensureOpenclawRuntime, type OpenclawRuntime } from '../../src/gateway/runtime.ts';
import { GATEWAY_SERVICE } from '../../src/gateway/service.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { isRunning } from '../../src/hosts/proc.ts';
import { freePort, scratchDir } from './helpers.ts';

/** The gateway as a service of its machine's host (here a LocalHost), with the stand-in gateway. */
const STANDIN = fileURLToPath(new URL('./standin-gateway.mjs', import.meta.url));
const TOKEN = 'tok_process_test_0123456789';

let runtime: OpenclawRuntime;
const hosts: LocalHost[] = []; // gateways to stop after each test

beforeAll(async () => {
  runtime = await ensureOpenclawRuntime({ cacheDir: scratchDir('cache'), standinCommand: STANDIN });
});

afterEach(async () => {
  for (const host of hosts.splice(0)) await stopGateway(host, { graceMs: 2000 });
});

async function fleet(
  env?: Record<string, string>,
  given: { token?: string; port?: number } = {},
): Promise<{ host: LocalHost; spec: GatewaySpec }> {
  const host = new LocalHost(scratchDir('proc'));
  hosts.push(host);
  const port = given.port ?? (await freePort());
  const token = given.token ?? TOKEN;
  const spec: GatewaySpec = {
    runtime,
    configRel: 'openclaw/openclaw.json',
    stateRel: 'openclaw/state',
    logRel: 'openclaw/gateway.log',
    port,
    token,
    home: host.resolve('home'),
    env,
  };
  await host.writeFileAtomic(spec.configRel, JSON.stringify({ gateway: { mode: 'local', port, auth: { mode: 'token', token } } }));
  return { host, spec };
}
const wait = (spec: GatewaySpec, timeoutMs: number) => ({ port: spec.port, timeoutMs, watchService: true, logFile: spec.logRel });

describe('the stand-in runtime', () => {
  it('runs the stand-in script with the current Node when FLEET_GATEWAY_COMMAND is set', () => {
    expect(runtime).toMatchObject({ kind: 'standin', nodeBin: process.execPath, openclawEntry: STANDIN });
  });
});

describe('startGateway', () => {
  it('starts the gateway as the machine service in its own process group, and it becomes healthy', async () => {
    const { host, spec } = await fleet();
    const { pid } = await startGateway(host, spec);
    expect(await host.serviceStatus(GATEWAY_SERVICE)).toEqual({ running: true, pid });
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).toBe(pid);
    await waitHealthy(host, wait(spec, 10_000));
    expect(await isHealthy(host, spec.port)).toBe(true);
    // The token travels in the environment, not on the command line; nothing of ours is inherited.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(TOKEN);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`OPENCLAW_GATEWAY_TOKEN=${TOKEN}`);
    expect(environ).toContain(`OPENCLAW_CONFIG_PATH=${host.resolve(spec.configRel)}`);
    expect(environ.filter((e) => e.startsWith('VITEST') || e.startsWith('NODE_OPTIONS='))).toEqual([]);
    expect(await host.readFile(spec.logRel)).toContain('http server listening');
  });
});

describe('ensureGatewayRunning', () => {
  it('starts a gateway, then leaves a healthy one alone', async () => {
    const { host, spec } = await fleet();
    const first = await ensureGatewayRunning(host, { ...spec, timeoutMs: 10_000 });
    expect(first.restarted).toBe(true);
    expect(first.ms).toBeGreaterThan(0);
    const second = await ensureGatewayRunning(host, { ...spec, timeoutMs: 10_000 });
    expect(second).toEqual({ restarted: false, pid: first.pid });
    expect(isRunning(first.pid!)).toBe(true);
  });

  it('starts a new gateway when the old one is gone', async () => {
    const { host, spec } = await fleet();
    const first = await ensureGatewayRunning(host, { ...spec, timeoutMs: 10_000 });
    process.kill(first.pid!, 'SIGKILL');
    await expect.poll(() => isRunning(first.pid!)).toBe(false);
    const second = await ensureGatewayRunning(host, { ...spec, timeoutMs: 10_000 });
    expect(second.restarted).toBe(true);
    expect(second.pid).not.toBe(first.pid);
  });

  it('waits for a gateway that a previous attempt left starting instead of starting another', async () => {
    const { host, spec } = await fleet({ FLEET_STANDIN_LISTEN_DELAY_MS: '1500' });
    const { pid } = await startGateway(host, spec);
    expect(await ensureGatewayRunning(host, { ...spec, timeoutMs: 10_000 })).toEqual({ restarted: false, pid });
  });

  it('stops the gateway it started when it does not become healthy in time', async () => {
    const { host, spec } = await fleet({ FLEET_STANDIN_NEVER_READY: '1' });
    const error = await ensureGatewayRunning(host, { ...spec, timeoutMs: 1500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect((await host.serviceStatus(GATEWAY_SERVICE)).running).toBe(false);
    expect(await isHealthy(host, spec.port)).toBe(false);
  });
});

describe('waitHealthy', () => {
  it('times out with a TransientError naming the last answer and the log file', async () => {
    const { host, spec } = await fleet({ FLEET_STANDIN_NEVER_READY: '1' });
    await startGateway(host, spec);
    const error = (await waitHealthy(host, wait(spec, 1500)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain(`127.0.0.1:${spec.port} was not healthy after 2 s`);
    expect(error.message).toContain('/readyz: HTTP 503');
    expect(error.message).toContain(spec.logRel);
  });

  it('says so at once when the gateway exits during startup', async () => {
    const { host, spec } = await fleet({ FLEET_STANDIN_EXIT_CODE: '3' });
    await startGateway(host, spec);
    const began = Date.now();
    const error = (await waitHealthy(host, wait(spec, 20_000)).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toContain('exited during startup');
    expect(error.message).toContain(spec.logRel);
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('reports a port nobody listens on', async () => {
    const { host } = await fleet();
    const error = (await waitHealthy(host, { port: await freePort(), timeoutMs: 600 }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('/healthz: refused');
  });
});

describe('stopGateway', () => {
  it('stops the gateway; a second stop does nothing', async () => {
    const { host, spec } = await fleet();
    const { pid } = await startGateway(host, spec);
    await waitHealthy(host, wait(spec, 10_000));
    expect(await stopGateway(host)).toMatchObject({ stopped: true, pid, killed: false });
    expect(isRunning(pid)).toBe(false);
    expect(await isHealthy(host, spec.port)).toBe(false);
    expect((await stopGateway(host)).stopped).toBe(false);
  });

  it('kills a gateway that ignores SIGTERM after the grace period', async () => {
    const { host, spec } = await fleet({ FLEET_STANDIN_IGNORE_SIGTERM: '1' });
    const { pid } = await startGateway(host, spec);
    await waitHealthy(host, wait(spec, 10_000));
    expect(await stopGateway(host, { graceMs: 500 })).toMatchObject({ stopped: true, pid, killed: true });
    expect(isRunning(pid)).toBe(false);
  });
});

describe("the gateway proves it holds this fleet's token", () => {
  it("refuses another fleet's gateway answering on this fleet's port", async () => {
    const first = await fleet();
    await ensureGatewayRunning(first.host, { ...first.spec, timeoutMs: 10_000 });
    // The second fleet got the same port: its own gateway cannot bind it, and the first one answers there.
    const second = await fleet(undefined, { token: 'tok_second_fleet_9876543210', port: first.spec.port });
    const error = (await ensureGatewayRunning(second.host, { ...second.spec, timeoutMs: 5000 }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TerminalError);
    expect(error.message).toMatch(/does not hold this fleet's gateway token/);
    expect(await isHealthy(second.host, first.spec.port, second.spec.token)).toBe(false);
    // The first fleet's gateway is still there, and still its own.
    expect(await isHealthy(first.host, first.spec.port, TOKEN)).toBe(true);
  });

  it('does not take a server that answers healthy without checking tokens for a gateway', async () => {
    const { host, spec } = await fleet();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, status: 'live', ready: true, failing: [] }));
    });
    await new Promise<void>((resolve) => server.listen(spec.port, '127.0.0.1', resolve));
    try {
      expect(await isHealthy(host, spec.port, TOKEN)).toBe(false);
      const error = (await waitHealthy(host, { port: spec.port, token: TOKEN, timeoutMs: 1200 }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toMatch(/did not prove it holds this fleet's gateway token/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
