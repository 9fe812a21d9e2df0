import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Host } from '../../src/hosts/host.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { SshHost } from '../../src/hosts/ssh-host.ts';
import { type Sshd, startSshd } from './sshd.ts';

/**
 * One machine per host kind for the contract tests. The SSH machine is this very machine reached
 * through a throwaway sshd as an unprivileged user, so the tests can look at its files and
 * processes directly (as root) whatever host made them.
 */
export interface HostFixture {
  kind: 'local' | 'ssh';
  host: Host;
  /** The machine root, as this process sees it (the same path the machine sees). */
  root: string;
  /** A directory outside the root that the machine's user may write: escapes must not reach it. */
  outside: string;
  /** Writes a service record as if the host had started `pid` (with that start time) as `name`. */
  forgeServiceRecord(name: string, pid: number, startTime: number): void;
  /** Starts a process as the machine's user without the host: someone else's process. */
  spawnForeign(command: string, args: string[]): ChildProcess;
  /** Gives a path the test made (as root) to the machine's user. */
  own(p: string): void;
  sshd?: Sshd;
  cleanup(): Promise<void>;
}

export async function localFixture(): Promise<HostFixture> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-host-'));
  const root = path.join(scratch, 'machine');
  const outside = path.join(scratch, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  const host = new LocalHost(root);
  // LocalHost keeps its records beside the machine: <parent>/.services/<machine>/<name>.json.
  const records = path.join(scratch, '.services', 'machine');
  return {
    kind: 'local',
    host,
    root,
    outside,
    forgeServiceRecord(name, pid, startTime) {
      fs.mkdirSync(records, { recursive: true });
      fs.writeFileSync(path.join(records, `${name}.json`), JSON.stringify({ pid, startTime }));
    },
    spawnForeign: (command, args) => spawn(command, args, { stdio: 'ignore', detached: true }),
    own: () => undefined,
    async cleanup() {
      await host.close();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

export async function sshFixture(): Promise<HostFixture> {
  const sshd = await startSshd();
  const { uid, gid, home } = sshd.user;
  const scratch = fs.mkdtempSync(path.join(home, 't-'));
  const own = (p: string) => fs.lchownSync(p, uid, gid);
  own(scratch);
  const root = path.join(scratch, 'machine');
  const outside = path.join(scratch, 'outside');
  const records = path.join(scratch, 'services');
  for (const dir of [root, outside]) {
    fs.mkdirSync(dir);
    own(dir);
  }
  const host = new SshHost({
    host: sshd.host,
    port: sshd.port,
    username: sshd.user.name,
    privateKey: sshd.privateKey,
    root,
    serviceStateDir: records,
    hostKey: { expected: sshd.hostFingerprint(), onFirstContact: async () => undefined },
    connectTimeoutMs: 10_000,
  });
  return {
    kind: 'ssh',
    host,
    root,
    outside,
    sshd,
    forgeServiceRecord(name, pid, startTime) {
      fs.mkdirSync(records, { recursive: true, mode: 0o700 });
      own(records);
      const file = path.join(records, `${name}.pid`);
      fs.writeFileSync(file, `${pid} ${startTime}\n`);
      own(file);
    },
    spawnForeign: (command, args) => spawn(command, args, { stdio: 'ignore', detached: true, uid, gid, cwd: '/' }),
    own,
    async cleanup() {
      await host.close();
      await sshd.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, …, starttime at 19]. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function startTimeOf(pid: number): number {
  return Number(statFields(pid)?.[19]);
}

/** True when `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z';
}

/** Live (non-zombie) processes of process group `pgid`: killed ones may stay zombies here, PID 1 does not reap. */
export function liveGroupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      const f = statFields(e);
      return f !== undefined && f[0] !== 'Z' && Number(f[2]) === pgid;
    })
    .map(Number);
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
