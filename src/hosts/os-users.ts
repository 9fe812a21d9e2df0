import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

/**
 * One unprivileged OS user per local fleet: the wall between tenants on the local driver. The
 * fleet's gateway and every command run in its machine run as that user, its machine directory is
 * that user's (mode 700), and nothing of the control plane's (data dir secrets, the database, other
 * fleets, the shared runtime) is writable or readable to it. Only a control plane running as root
 * can create users; elsewhere the local driver is one trust domain (see LocalDriver).
 */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** True when this process may create users and run processes as them. */
export function canRunAsOtherUsers(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/usr/sbin/useradd');
}

/**
 * The OS user name of a fleet: derived from its tenant slug (stable, so a resumed run finds the
 * same user), short enough for every tool (at most 32 characters), never a name a person has.
 */
export function fleetUserName(tenantSlug: string): string {
  return `fleet-${createHash('sha256').update(tenantSlug).digest('hex').slice(0, 16)}`;
}

/**
 * The OS user of a pooled gateway's machine (the warm pool): fresh per pooled gateway, and the
 * claiming fleet's from then on. Its own prefix, so it never collides with a fleet-derived name.
 */
export function warmUserName(warmId: string): string {
  return `fleetw-${createHash('sha256').update(warmId).digest('hex').slice(0, 16)}`;
}

export function lookupUser(name: string): OsUser | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/**
 * The user, created when missing: a system user with its own group, no home, no login shell.
 * Idempotent and safe when several processes race (useradd's lock on /etc/passwd makes one wait or
 * fail; the loser finds the winner's user).
 */
export function ensureUser(name: string): OsUser {
  for (let attempt = 0; ; attempt++) {
    const existing = lookupUser(name);
    if (existing) return existing;
    try {
      execFileSync(
        '/usr/sbin/useradd',
        ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name],
        { stdio: 'pipe', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
    } catch (error) {
      if (lookupUser(name)) continue;
      if (attempt >= 20) {
        const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
        throw new Error(`could not create the OS user ${name} for a fleet: ${stderr || (error as Error).message}`);
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 + attempt * 50); // /etc/passwd is locked: a moment
    }
  }
}

/** Ends every process of `uid` (all of a fleet user's processes are its fleet's), then removes the user. */
export function removeUser(user: OsUser): void {
  if (user.uid === 0) throw new Error('refusing to remove root');
  for (const pid of processesOf(user.uid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  try {
    execFileSync('/usr/sbin/userdel', [user.name], { stdio: 'pipe', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  } catch (error) {
    if (lookupUser(user.name)) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
      throw new Error(`could not remove the OS user ${user.name}: ${stderr || (error as Error).message}`);
    }
  }
}

/** Pids whose real uid is `uid` (from /proc). */
export function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}
