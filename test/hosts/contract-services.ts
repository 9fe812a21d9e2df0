import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { HostHttpError, type ServiceSpec, ServiceStartError } from '../../src/hosts/host.ts';
import { alive, freePort, type HostFixture, liveGroupMembers, startTimeOf } from './fixtures.ts';

/** Long-lived services and HTTP from the machine: what every Host must do. */
export function serviceContract(fx: () => HostFixture): void {
  const started: string[] = [];
  const spec = (name: string, script: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => {
    started.push(name);
    return {
      name,
      command: '/bin/sh',
      args: ['-c', script],
      env: { PATH: '/usr/bin:/bin' },
      cwd: 'svc',
      logFile: `logs/${name}.log`,
      ...extra,
    };
  };
  const log = (name: string) => fs.readFileSync(path.join(fx().root, `logs/${name}.log`), 'utf8');
  afterAll(async () => {
    for (const name of started)
      await fx()
        ?.host.stopService(name, { graceMs: 500 })
        .catch(() => undefined);
  });

  it('starts a service detached in its own group, logs its output, and stops it with its whole group', async () => {
    const { host } = fx();
    const s = spec('svc-basic', 'echo hello-from-service; sleep 300 & sleep 300 & wait');
    const { pid } = await host.startService(s);
    expect(await host.serviceStatus('svc-basic')).toEqual({ running: true, pid });
    await expect.poll(() => log('svc-basic'), { timeout: 5_000 }).toContain('hello-from-service');
    expect(fs.statSync(path.join(fx().root, 'logs/svc-basic.log')).mode & 0o777).toBe(0o600);
    await expect.poll(() => liveGroupMembers(pid).length, { timeout: 5_000 }).toBe(3); // sh + two sleeps, one group led by pid
    await expect(host.startService(s)).rejects.toThrow(ServiceStartError); // the name is taken while it runs
    const stop = await host.stopService('svc-basic', { graceMs: 5_000 });
    expect(stop).toEqual({ stopped: true, pid, killed: false });
    expect(await host.serviceStatus('svc-basic')).toEqual({ running: false });
    expect(liveGroupMembers(pid)).toEqual([]);
    expect(await host.stopService('svc-basic')).toEqual({ stopped: false }); // twice: fine
  });

  it('gives the service exactly the environment it was given, nothing inherited', async () => {
    const { host } = fx();
    process.env.FLEET_SECRETS_KEY = 'control-plane-key-must-not-leak';
    try {
      const s = spec('svc-env', '', { command: '/usr/bin/env', args: [], env: { ONLY: 'this one', TOKEN: 't\'o"k$en' } });
      await host.startService(s);
      await expect.poll(() => log('svc-env'), { timeout: 5_000 }).toContain('ONLY=');
      await expect.poll(async () => (await host.serviceStatus('svc-env')).running, { timeout: 5_000 }).toBe(false);
      const lines = log('svc-env')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('--- agent-fleet'));
      expect(lines.sort()).toEqual(['ONLY=this one', `TOKEN=t'o"k$en`]);
    } finally {
      delete process.env.FLEET_SECRETS_KEY;
    }
  });

  it('kills a service that ignores SIGTERM once the grace period is over', async () => {
    const { host } = fx();
    const { pid } = await host.startService(spec('svc-stubborn', "trap '' TERM; echo ready; while :; do sleep 1; done"));
    await expect.poll(() => log('svc-stubborn'), { timeout: 5_000 }).toContain('ready');
    const t0 = Date.now();
    expect(await host.stopService('svc-stubborn', { graceMs: 600 })).toEqual({ stopped: true, pid, killed: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(liveGroupMembers(pid)).toEqual([]);
  });

  it('reports a service that exited by itself as not running', async () => {
    const { host } = fx();
    await host.startService(spec('svc-brief', 'exit 0'));
    await expect.poll(async () => (await host.serviceStatus('svc-brief')).running, { timeout: 5_000 }).toBe(false);
    expect(await host.stopService('svc-brief')).toEqual({ stopped: false });
    await host.startService(spec('svc-brief', 'sleep 300')); // its name is free again
    expect((await host.stopService('svc-brief', { graceMs: 2_000 })).stopped).toBe(true);
  });

  it('never signals a process whose pid the record names but that is not the service (pid reuse)', async () => {
    const { host, forgeServiceRecord, spawnForeign } = fx();
    const foreign = spawnForeign('/bin/sleep', ['60']);
    try {
      await expect.poll(() => alive(foreign.pid!)).toBe(true);
      forgeServiceRecord('svc-recycled', foreign.pid!, startTimeOf(foreign.pid!) + 1); // same pid, another process
      expect(await host.serviceStatus('svc-recycled')).toEqual({ running: false });
      expect(await host.stopService('svc-recycled', { graceMs: 200 })).toEqual({ stopped: false });
      forgeServiceRecord('svc-recycled', 999_999_999, 1); // a pid nobody has
      expect(await host.stopService('svc-recycled', { graceMs: 200 })).toEqual({ stopped: false });
      expect(alive(foreign.pid!)).toBe(true);
      await host.startService(spec('svc-recycled', 'sleep 300')); // a stale record does not block a start
      expect(alive(foreign.pid!)).toBe(true);
    } finally {
      foreign.kill('SIGKILL');
    }
  });

  it('refuses to start what cannot be started', async () => {
    const { host } = fx();
    await expect(host.startService(spec('svc-missing', '', { command: '/no/such/program' }))).rejects.toThrow(ServiceStartError);
    await expect(host.startService(spec('Bad Name', 'sleep 1'))).rejects.toThrow(ServiceStartError);
    expect(await host.serviceStatus('svc-missing')).toEqual({ running: false });
  });

  it('makes HTTP requests from the machine to a service listening on 127.0.0.1', async () => {
    const { host } = fx();
    const port = await freePort();
    const server = `require('http').createServer((q, s) => {
      if (q.url === '/slow') return;
      if (q.url === '/big') return s.end('x'.repeat(3 << 20));
      s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ ok: true, method: q.method, h: q.headers['x-probe'] || null }));
    }).listen(${port}, '127.0.0.1', () => console.log('listening'));`;
    await host.startService(spec('svc-http', '', { command: process.execPath, args: ['-e', server], env: {} }));
    await expect.poll(() => log('svc-http'), { timeout: 10_000 }).toContain('listening');

    const ok = await host.request(port, '/healthz', { timeoutMs: 5_000, headers: { 'x-probe': 'yes' } });
    expect(ok).toEqual({ status: 200, body: '{"ok":true,"method":"GET","h":"yes"}' });
    expect((await host.request(port, '/x', { timeoutMs: 5_000, method: 'POST' })).body).toContain('"method":"POST"');
    expect((await host.request(port, '/big', { timeoutMs: 10_000 })).body.length).toBe(1 << 20);

    const t0 = Date.now();
    await expect(host.request(port, '/slow', { timeoutMs: 500 })).rejects.toMatchObject({ name: 'HostHttpError', reason: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2_000);

    await host.stopService('svc-http', { graceMs: 2_000 });
    // A listener that was just killed can still reset a connection for a moment; once nothing
    // accepts on the port, a request is refused.
    await expect.poll(() => host.isPortOpen(port), { timeout: 5_000 }).toBe(false);
    const refused = host.request(port, '/healthz', { timeoutMs: 5_000 });
    await expect(refused).rejects.toBeInstanceOf(HostHttpError);
    await expect(refused).rejects.toMatchObject({ reason: 'refused', port });
  });
}
