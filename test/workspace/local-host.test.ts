import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecAbortedError, ExecTimeoutError, PathEscapeError } from '../../src/hosts/host.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { isRunning } from './procs.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-host-'));
const outside = path.join(scratch, 'outside');
let host: LocalHost;
beforeAll(() => {
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'outside data');
  fs.mkdirSync(path.join(scratch, 'machine'));
  host = new LocalHost(path.join(scratch, 'machine'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('LocalHost confinement', () => {
  it.each(['../x', 'a/../../x', 'a/..', '..', '/etc/passwd', '\\etc\\passwd', 'a\0b'])('refuses %j', (rel) => {
    expect(() => host.resolve(rel)).toThrow(PathEscapeError);
  });

  it('resolves relative paths inside the root', () => {
    expect(host.resolve('a/b.txt')).toBe(path.join(host.root, 'a/b.txt'));
    expect(host.resolve('')).toBe(host.root);
  });

  it('refuses every operation through a symlink that leads outside', async () => {
    fs.symlinkSync(outside, path.join(host.root, 'evil'));
    await expect(host.writeFileAtomic('evil/owned', 'x')).rejects.toThrow(/symlink that leads outside/);
    await expect(host.readFile('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.mkdirp('evil/sub/dir')).rejects.toThrow(PathEscapeError);
    await expect(host.exists('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.list('evil')).rejects.toThrow(PathEscapeError);
    await expect(host.remove('evil/secret.txt')).rejects.toThrow(PathEscapeError);
    await expect(host.exec('ls', [], { cwd: 'evil', timeoutMs: 5_000 })).rejects.toThrow(PathEscapeError);
    expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
    expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('outside data');
  });

  it('refuses a symlinked file pointing outside, and a dangling symlink', async () => {
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(host.root, 'link.txt'));
    await expect(host.readFile('link.txt')).rejects.toThrow(PathEscapeError);
    fs.symlinkSync(path.join(outside, 'not-yet'), path.join(host.root, 'dangling'));
    await expect(host.mkdirp('dangling/x')).rejects.toThrow(/leads nowhere/);
    expect(fs.existsSync(path.join(outside, 'not-yet'))).toBe(false);
  });

  it('follows a symlink that stays inside the root', async () => {
    await host.writeFileAtomic('real/file.txt', 'inside');
    fs.symlinkSync(path.join(host.root, 'real'), path.join(host.root, 'alias'));
    expect(await host.readFile('alias/file.txt')).toBe('inside');
  });

  it('never removes the root itself', async () => {
    await expect(host.remove('')).rejects.toThrow(/machine root itself/);
    await expect(host.remove('.')).rejects.toThrow(/machine root itself/);
    expect(fs.existsSync(host.root)).toBe(true);
  });
});

describe('LocalHost files', () => {
  it('writes atomically with exactly the requested mode and leaves no temp files', async () => {
    const oldUmask = process.umask(0o077);
    try {
      await host.writeFileAtomic('cfg/a.json', '{"a":1}', 0o640);
    } finally {
      process.umask(oldUmask);
    }
    await host.writeFileAtomic('cfg/b.json', '{"b":1}', 0o600);
    await host.writeFileAtomic('cfg/b.json', '{"b":2}', 0o600);
    expect(fs.readFileSync(path.join(host.root, 'cfg/b.json'), 'utf8')).toBe('{"b":2}');
    expect(fs.statSync(path.join(host.root, 'cfg/a.json')).mode & 0o777).toBe(0o640);
    expect(fs.statSync(path.join(host.root, 'cfg/b.json')).mode & 0o777).toBe(0o600);
    expect(await host.list('cfg')).toEqual(['a.json', 'b.json']);
  });

  it('cleans its temp file when the write fails', async () => {
    await host.mkdirp('dir-target/inner');
    await expect(host.writeFileAtomic('dir-target', 'x')).rejects.toThrow();
    expect(fs.readdirSync(host.root).filter((n) => n.includes('dir-target') && n.endsWith('.tmp'))).toEqual([]);
  });

  it('reads, checks existence, lists, renames and removes', async () => {
    await host.writeFileAtomic('r/one.txt', 'one');
    expect(await host.exists('r/one.txt')).toBe(true);
    expect(await host.exists('r/none.txt')).toBe(false);
    expect(await host.list('missing-dir')).toEqual([]);
    await host.rename('r/one.txt', 'r/two.txt');
    expect(await host.readFile('r/two.txt')).toBe('one');
    await host.remove('r');
    await host.remove('r'); // absent: nothing to do
    expect(await host.exists('r')).toBe(false);
  });
});

describe('LocalHost exec', () => {
  it('runs without a shell and reports output and exit code', async () => {
    const r = await host.exec('sh', ['-c', 'echo "$1"; echo err >&2; exit 3', 'sh', '$(id) `id`'], { timeoutMs: 5_000 });
    expect(r).toEqual({ stdout: '$(id) `id`\n', stderr: 'err\n', code: 3 });
    const e = await host.exec('echo', ['$HOME;', 'rm', '-rf', '/'], { timeoutMs: 5_000 });
    expect(e.stdout).toBe('$HOME; rm -rf /\n');
  });

  it('runs in a cwd inside the root', async () => {
    await host.mkdirp('work/here');
    const r = await host.exec('pwd', [], { cwd: 'work/here', timeoutMs: 5_000 });
    expect(fs.realpathSync(r.stdout.trim())).toBe(fs.realpathSync(path.join(host.root, 'work/here')));
  });

  it("passes the caller's env but not the control plane's own secrets", async () => {
    process.env.FLEET_SECRETS_KEY = 'control-plane-key-must-not-leak';
    process.env.DATABASE_URL = 'postgres://user:pw@db/x';
    try {
      const r = await host.exec('env', [], { env: { GIT_TERMINAL_PROMPT: '0' }, timeoutMs: 5_000 });
      expect(r.stdout).toContain('GIT_TERMINAL_PROMPT=0');
      expect(r.stdout).toMatch(/^PATH=/m);
      expect(r.stdout).not.toContain('control-plane-key-must-not-leak');
      expect(r.stdout).not.toContain('DATABASE_URL');
    } finally {
      delete process.env.FLEET_SECRETS_KEY;
      delete process.env.DATABASE_URL;
    }
  });

  it('kills the whole process tree on timeout', async () => {
    const pidFile = path.join(host.root, 'grandchild.pid');
    const started = Date.now();
    await expect(host.exec('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 500 })).rejects.toThrow(ExecTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    await expect.poll(() => isRunning(pid), { timeout: 3_000 }).toBe(false);
  });

  it('kills the command when aborted, and does not start it when already aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    await expect(host.exec('sleep', ['30'], { timeoutMs: 30_000, signal: ac.signal })).rejects.toThrow(ExecAbortedError);
    const marker = path.join(host.root, 'should-not-exist');
    await expect(host.exec('touch', [marker], { timeoutMs: 5_000, signal: AbortSignal.abort() })).rejects.toThrow(ExecAbortedError);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('rejects with ENOENT for a program that does not exist', async () => {
    await expect(host.exec('no-such-program-xyz', [], { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('LocalHost.isPortOpen', () => {
  it('tells a listening port from a closed one', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    expect(await host.isPortOpen(port)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await host.isPortOpen(port)).toBe(false);
  });
});
