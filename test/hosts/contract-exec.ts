import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ExecAbortedError, ExecTimeoutError } from '../../src/hosts/host.ts';
import { alive, type HostFixture } from './fixtures.ts';

/** Commands: what every Host must do. */
export function execContract(fx: () => HostFixture): void {
  it('runs without a shell and reports output and exit code', async () => {
    const { host } = fx();
    const r = await host.exec('sh', ['-c', 'echo "$1"; echo err >&2; exit 3', 'sh', '$(id) `id`'], { timeoutMs: 5_000 });
    expect(r).toEqual({ stdout: '$(id) `id`\n', stderr: 'err\n', code: 3 });
    const tricky = ['$HOME;', 'rm', '-rf', '/', "it's", '"q"', 'a\nb', '', '*', '\\'];
    const e = await host.exec('printf', ['[%s]', ...tricky], { timeoutMs: 5_000 });
    expect(e).toEqual({ stdout: tricky.map((t) => `[${t}]`).join(''), stderr: '', code: 0 });
  });

  it('runs in a cwd inside the root, the root by default', async () => {
    const { host, root } = fx();
    await host.mkdirp('work/here');
    const r = await host.exec('pwd', [], { cwd: 'work/here', timeoutMs: 5_000 });
    expect(fs.realpathSync(r.stdout.trim())).toBe(fs.realpathSync(path.join(root, 'work/here')));
    expect(fs.realpathSync((await host.exec('pwd', [], { timeoutMs: 5_000 })).stdout.trim())).toBe(fs.realpathSync(root));
  });

  it("passes the caller's env, a minimal base, and nothing of the control plane's own", async () => {
    const { host } = fx();
    process.env.FLEET_SECRETS_KEY = 'control-plane-key-must-not-leak';
    process.env.DATABASE_URL = 'postgres://user:pw@db/x';
    try {
      const weird = `a 'b' "c" $HOME \`id\` \\ \nline2`;
      const r = await host.exec('env', [], { env: { GIT_TERMINAL_PROMPT: '0', WEIRD: weird }, timeoutMs: 5_000 });
      expect(r.stdout).toContain('GIT_TERMINAL_PROMPT=0\n');
      expect(r.stdout).toContain(`WEIRD=${weird}\n`);
      expect(r.stdout).toMatch(/^PATH=/m);
      expect(r.stdout).toMatch(/^HOME=\//m);
      expect(r.stdout).not.toContain('control-plane-key-must-not-leak');
      expect(r.stdout).not.toContain('DATABASE_URL');
      expect(r.stdout).not.toMatch(/^SSH_/m); // nor the SSH session's own variables
    } finally {
      delete process.env.FLEET_SECRETS_KEY;
      delete process.env.DATABASE_URL;
    }
  });

  it('kills the whole process tree on timeout, within the timeout and a little', async () => {
    const { host, root } = fx();
    const pidFile = path.join(root, 'grandchild.pid');
    const started = Date.now();
    const run = host.exec('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 700 });
    await expect(run).rejects.toThrow(ExecTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(pid), { timeout: 2_000 }).toBe(false);
  });

  it('kills the tree when aborted, and does not start a command already aborted', async () => {
    const { host, root } = fx();
    const pidFile = path.join(root, 'aborted.pid');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 400);
    const started = Date.now();
    const run = host.exec('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 30_000, signal: ac.signal });
    await expect(run).rejects.toThrow(ExecAbortedError);
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect.poll(() => alive(Number(fs.readFileSync(pidFile, 'utf8'))), { timeout: 2_000 }).toBe(false);
    const marker = path.join(root, 'should-not-exist');
    await expect(host.exec('touch', [marker], { timeoutMs: 5_000, signal: AbortSignal.abort() })).rejects.toThrow(ExecAbortedError);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('rejects with ENOENT for a program that does not exist', async () => {
    const { host } = fx();
    await expect(host.exec('no-such-program-xyz', [], { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(host.exec('/no/such/program', [], { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the tail of a very chatty command, bounded', async () => {
    const { host } = fx();
    const r = await host.exec('sh', ['-c', 'head -c 3000000 /dev/zero | tr "\\0" x; echo END'], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeLessThanOrEqual(1 << 20);
    expect(r.stdout.endsWith('xEND\n')).toBe(true);
  });

  it('tells a listening port from a closed one', async () => {
    const { host } = fx();
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    expect(await host.isPortOpen(port)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await host.isPortOpen(port)).toBe(false);
  });
}
