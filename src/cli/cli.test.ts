import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_SERVICE } from '../gateway/service.ts';
import { LocalHost } from '../hosts/local-host.ts';

/** The `fleet` binary as a user runs it: real processes, real embedded PostgreSQL, real HTTP. */
const run = promisify(execFile);
const BIN = path.resolve('bin/fleet.js');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cli-'));
const children: ChildProcess[] = [];
const baseEnv = { ...process.env, FLEET_DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'info' };
delete (baseEnv as Record<string, string | undefined>).VITEST;

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `fleet serve` and resolves with its URL once it listens. */
function serve(env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...baseEnv, PORT: '0', ...env } });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)".*"msg":"Agent Fleet API listening"/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], output: () => out });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
}

describe('fleet CLI', () => {
  // Two servers and an embedded PostgreSQL: 12 s alone, over 30 s while the whole suite shares two cores.
  it('serve + dev token: a tenant-less session gets {"ok":true,"fleet":null}; a second serve on the same data dir is refused', {
    timeout: 90_000,
  }, async () => {
    const server = await serve();
    expect(server.output()).toContain('platform token: fpt_');
    const { stdout: token } = await run(
      process.execPath,
      [BIN, 'dev', 'token', '--user', 'user_alice', '--org', 'org_acme', '--role', 'admin'],
      { env: baseEnv },
    );
    expect(token.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'user_alice', v: 2, o: { id: 'org_acme', rol: 'admin' } });

    const res = await fetch(`${server.url}/api/fleet`, { headers: { authorization: `Bearer ${token.trim()}` } });
    expect(await res.json()).toStrictEqual({ ok: true, fleet: null });

    const second = await run(process.execPath, [BIN, 'serve'], { env: { ...baseEnv, PORT: '0' } }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((second as { code: number }).code).not.toBe(0);
    expect((second as { stderr: string }).stderr).toMatch(/in use by another fleet process/);
    // The first server is unharmed.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const exited = new Promise<number | null>((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'postgres.lock'))).toBe(false);
  });

  it('serve says when it stops that local gateways keep running; `fleet gateways stop` stops them', { timeout: 90_000 }, async () => {
    // A gateway of this data dir, as the local driver leaves it: a service with its record beside the machine.
    const host = new LocalHost(path.join(dataDir, 'fleets', 'cli_gateway'));
    await host.mkdirp('.');
    await host.startService({ name: GATEWAY_SERVICE, command: '/bin/sleep', args: ['300'], env: {}, cwd: '.', logFile: 'gateway.log' });
    const server = await serve();
    const exited = new Promise<number | null>((r) => server.child.once('exit', r));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(server.output()).toContain('1 gateway keeps running; `fleet gateways stop` stops it.');
    expect((await host.serviceStatus(GATEWAY_SERVICE)).running).toBe(true);

    const { stdout } = await run(process.execPath, [BIN, 'gateways', 'stop'], { env: baseEnv });
    expect(stdout).toContain('Stopped 1 gateway: cli_gateway.');
    expect((await host.serviceStatus(GATEWAY_SERVICE)).running).toBe(false);
    expect((await run(process.execPath, [BIN, 'gateways', 'stop'], { env: baseEnv })).stdout).toContain('No gateway runs under');
  });

  it('refuses to start in production without Clerk settings, naming the variables', async () => {
    const err = (await run(process.execPath, [BIN, 'serve'], { env: { ...baseEnv, NODE_ENV: 'production' } }).catch((e) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(78);
    for (const name of ['CLERK_JWT_KEY', 'CLERK_PUBLISHABLE_KEY', 'FLEET_PLATFORM_TOKEN', 'FLEET_SECRETS_KEY'])
      expect(err.stderr).toContain(name);
  });

  it('refuses to serve dev sign-in on a non-loopback address or with only CLERK_SECRET_KEY, saying what to do', async () => {
    const fail = (env: Record<string, string>) =>
      run(process.execPath, [BIN, 'serve'], { env: { ...baseEnv, PORT: '0', ...env } }).catch((e) => e) as Promise<{
        code: number;
        stderr: string;
      }>;
    const open = await fail({ HOST: '0.0.0.0' });
    expect(open.code).toBe(78);
    expect(open.stderr).toMatch(/HOST: dev sign-in .* loopback addresses only .* not on 0\.0\.0\.0\. Set HOST=127\.0\.0\.1/);
    const secretOnly = await fail({ CLERK_SECRET_KEY: 'sk_live_only_this_one' });
    expect(secretOnly.code).toBe(78);
    expect(secretOnly.stderr).toContain('CLERK_JWT_KEY: is required when any Clerk setting is given');
  });

  it('dev token rejects ids that are not Clerk ids', async () => {
    const err = (await run(process.execPath, [BIN, 'dev', 'token', '--user', 'alice'], { env: baseEnv }).catch((e) => e)) as {
      code: number;
      stderr: string;
    };
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--user must look like a Clerk user id');
  });

  it('dev token refuses a role it does not know and a lifetime over a day, printing no token', async () => {
    const fail = async (args: string[]) =>
      (await run(process.execPath, [BIN, 'dev', 'token', '--user', 'user_alice', ...args], { env: baseEnv }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      )) as { code: number; stdout: string; stderr: string };
    const owner = await fail(['--org', 'org_acme', '--role', 'owner']);
    expect(owner.code).not.toBe(0);
    expect(owner.stdout).toBe('');
    expect(owner.stderr).toMatch(/--role.*Allowed choices are admin, member/);
    const long = await fail(['--ttl', '86401']);
    expect(long.code).not.toBe(0);
    expect(long.stdout).toBe('');
    expect(long.stderr).toContain('must be at most 86400 seconds (a day)');
    expect((await fail(['--ttl', '86400'])).stdout).toMatch(/^eyJ/);
  });
});
