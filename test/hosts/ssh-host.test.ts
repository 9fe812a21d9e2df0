import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { HostKeyMismatchError, SshHost, type SshHostOptions } from '../../src/hosts/ssh-host.ts';
import { alive } from './fixtures.ts';
import { type Sshd, startSshd } from './sshd.ts';

/** What only SshHost has: host key pinning, one connection that survives drops, close(). */
let sshd: Sshd;
let scratch: string;
const hosts: SshHost[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  scratch = fs.mkdtempSync(path.join(sshd.user.home, 't-'));
  fs.chownSync(scratch, sshd.user.uid, sshd.user.gid);
}, 180_000);
afterAll(async () => {
  for (const h of hosts) await h.close();
  await sshd?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

function makeHost(over: Partial<SshHostOptions> = {}): SshHost {
  const host = new SshHost({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user.name,
    privateKey: sshd.privateKey,
    root: path.join(scratch, 'machine'),
    hostKey: { expected: sshd.hostFingerprint(), onFirstContact: async () => undefined },
    connectTimeoutMs: 10_000,
    ...over,
  });
  hosts.push(host);
  return host;
}
const whoami = (host: SshHost) => host.exec('id', ['-un'], { timeoutMs: 10_000 }).then((r) => r.stdout.trim());

describe('SshHost connection', () => {
  it('runs everything as the SSH user, each command leading its own process group', async () => {
    const host = makeHost();
    await host.mkdirp('');
    expect(await whoami(host)).toBe(sshd.user.name);
    // What timeouts rely on: the command's pid is its group's id (fields 1 and 5 of its stat).
    const stat = (await host.exec('cat', ['/proc/self/stat'], { timeoutMs: 5_000 })).stdout;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(fields[2]).toBe(stat.split(' ')[0]);
  });

  it('pins the host key at first contact: the callback gets the fingerprint before anything runs', async () => {
    const seen: string[] = [];
    const host = makeHost({ hostKey: { onFirstContact: async (fp) => void seen.push(fp) } });
    expect(await whoami(host)).toBe(sshd.user.name);
    expect(seen).toEqual([sshd.hostFingerprint()]);
    const again = makeHost({ hostKey: { expected: seen[0]!.replace('SHA256:', ''), onFirstContact: async (fp) => void seen.push(fp) } });
    expect(await whoami(again)).toBe(sshd.user.name); // the prefix is optional in `expected`
    expect(seen).toHaveLength(1);
  });

  it('refuses the connection when the first-contact callback cannot store the key', async () => {
    const host = makeHost({ hostKey: { onFirstContact: async () => Promise.reject(new Error('db down')) } });
    const marker = path.join(scratch, 'machine', 'unstored');
    await expect(host.exec('touch', [marker], { timeoutMs: 5_000 })).rejects.toThrow(TransientError);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses a changed host key with a terminal HostKeyMismatchError, and runs nothing', async () => {
    const pinned = sshd.hostFingerprint();
    const host = makeHost(); // pinned from the start
    const firstContact = makeHost({ hostKey: { onFirstContact: async () => undefined } }); // pinned in memory when it connects
    expect(await whoami(host)).toBe(sshd.user.name);
    expect(await whoami(firstContact)).toBe(sshd.user.name);
    await sshd.rotateHostKey();
    sshd.dropConnections();
    const marker = path.join(scratch, 'machine', 'mitm');
    for (const h of [host, firstContact, makeHost({ hostKey: { expected: pinned, onFirstContact: async () => undefined } })]) {
      const error = await h.exec('touch', [marker], { timeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyMismatchError);
      expect(error).toBeInstanceOf(TerminalError);
      expect((error as Error).message).toContain(pinned);
      expect((error as Error).message).toContain(sshd.hostFingerprint());
      expect((error as Error).message).toMatch(/changed/);
    }
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('reconnects after the connection drops', async () => {
    const host = makeHost();
    expect(await whoami(host)).toBe(sshd.user.name);
    await host.writeFileAtomic('before.txt', 'x');
    expect(sshd.dropConnections()).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(await whoami(host)).toBe(sshd.user.name);
    expect(await host.readFile('before.txt')).toBe('x'); // SFTP reopened too
    sshd.dropConnections();
    expect(await host.exists('before.txt')).toBe(true); // right away, without waiting for the close to be seen
  });

  it('reports an unreachable or refusing machine as transient', async () => {
    const wrongKey = makeHost({ privateKey: ssh2.utils.generateKeyPairSync('ed25519').private });
    await expect(whoami(wrongKey)).rejects.toThrow(/Cannot reach .*authentication/);
    await expect(whoami(wrongKey)).rejects.toBeInstanceOf(TransientError);
    const nobody = makeHost({ port: 1 });
    await expect(whoami(nobody)).rejects.toThrow(TransientError);
  });

  it('runs more commands at once than sshd has sessions per connection', async () => {
    const host = makeHost();
    await host.mkdirp('');
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => host.exec('echo', [String(i)], { timeoutMs: 20_000 })));
    expect(results.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
  });
});

describe('SshHost services', () => {
  it('keeps services running when the host is closed, and finds them again from a new host', async () => {
    const host = makeHost();
    const { pid } = await host.startService({
      name: 'survivor',
      command: '/bin/sleep',
      args: ['300'],
      env: {},
      cwd: 'svc',
      logFile: 'survivor.log',
    });
    await host.close();
    sshd.dropConnections();
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true);
    const next = makeHost();
    expect(await next.serviceStatus('survivor')).toEqual({ running: true, pid });
    // Its record is in the default state dir, outside the root: ~/.fleet-services/machine-<hash>/.
    const records = fs.readdirSync(path.join(sshd.user.home, '.fleet-services')).filter((d) => d.startsWith('machine-'));
    const dir = records.find((d) => fs.existsSync(path.join(sshd.user.home, '.fleet-services', d, 'survivor.pid')));
    expect(dir).toBeDefined();
    expect((await next.stopService('survivor', { graceMs: 2_000 })).stopped).toBe(true);
    expect(alive(pid)).toBe(false);
    fs.rmSync(path.join(sshd.user.home, '.fleet-services', dir!), { recursive: true });
  });
});
