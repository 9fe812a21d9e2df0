import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';

/**
 * A throwaway OpenSSH server for the SSH host tests: run as root, on 127.0.0.1 and a port of
 * 22200–22299, with its own config, host key and pidfile in a temp dir. Logins only by key, only as
 * the unprivileged test user, whose authorized keys for this server sit in a file of its own in the
 * user's home (StrictModes stays on, as on a real VM, so the file must be in a directory the user owns).
 */
export const TEST_USER = 'fleet-ssh-test';
const ENSURE_SCRIPT = path.join(import.meta.dirname, '../../scripts/ensure-sshd.sh');

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  user: TestUser;
  /** A key pair (OpenSSH format) already authorised for the test user. */
  privateKey: string;
  publicKey: string;
  /** The server's host key fingerprint as SshHost reports it (`SHA256:…`). */
  hostFingerprint(): string;
  addAuthorizedKey(publicKey: string): void;
  /** What a guest agent does with a key gone from a VM's `ssh-keys`: it logs in no more. */
  removeAuthorizedKey(publicKey: string): void;
  /** Restarts the server with a new host key: what a VM recreated under the same address looks like. */
  rotateHostKey(): Promise<void>;
  /** Kills the server's per-connection processes: every open SSH connection drops at once. Returns how many it killed. */
  dropConnections(): number;
  stop(): Promise<void>;
}

/** Creates the test user (unprivileged, with a home and a shell) when it does not exist yet. */
export function ensureTestUser(): TestUser {
  const lookup = (): TestUser | undefined => {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${TEST_USER}:`));
    if (!line) return undefined;
    const [name, , uid, gid, , home] = line.split(':');
    return { name: name!, uid: Number(uid), gid: Number(gid), home: home! };
  };
  let user = lookup();
  if (!user) {
    try {
      execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', '--user-group', TEST_USER], { stdio: 'pipe' });
    } catch (e) {
      if (!lookup()) throw e; // another test file created it meanwhile: fine
    }
    user = lookup()!;
  }
  // useradd leaves the password '!' (locked); without PAM sshd refuses locked accounts even for
  // key logins. '*' means "no password can match" without being locked. Only when needed: two
  // test files doing this at once would fight over the lock of /etc/shadow.
  const locked = () =>
    fs
      .readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .some((l) => l.startsWith(`${TEST_USER}:!`));
  for (let attempt = 0; locked(); attempt++) {
    try {
      execFileSync('/usr/sbin/usermod', ['-p', '*', TEST_USER], { stdio: 'pipe' });
    } catch (e) {
      if (attempt >= 10) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // a moment, synchronously
    }
  }
  return user;
}

export async function startSshd(): Promise<Sshd> {
  if (process.getuid?.() !== 0) throw new Error('the sshd harness runs as root (it starts sshd and creates a test user)');
  if (!fs.existsSync('/usr/sbin/sshd')) execFileSync('sh', [ENSURE_SCRIPT], { stdio: 'inherit' });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation directory
  const user = ensureTestUser();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-sshd-'));
  const sshDir = path.join(user.home, '.ssh');
  fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  fs.chownSync(sshDir, user.uid, user.gid);

  let hostPublic = writeHostKey(dir);
  const client = ssh2.utils.generateKeyPairSync('ed25519');
  let child: ChildProcess | undefined;
  let port = 0;
  let authorizedKeys = '';

  const launch = async () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      port ||= 22200 + Math.floor(Math.random() * 100);
      authorizedKeys = path.join(sshDir, `authorized_keys-${port}`);
      fs.writeFileSync(path.join(dir, 'sshd_config'), config(dir, port, user.name));
      const started = await spawnSshd(dir).catch((e: unknown) => e as Error);
      if (started instanceof Error) {
        if (attempt >= 2) throw started;
        continue; // once seen under heavy load; the next attempt is logged if it fails too
      }
      if (started) {
        child = started;
        return;
      }
      port = 0; // taken (another test file's server, or anything else): try another
    }
    throw new Error('no free port for sshd in 22200-22299');
  };
  await launch();
  const keys = [client.public];
  const writeKeys = () => {
    fs.writeFileSync(authorizedKeys, `${keys.join('\n')}\n`, { mode: 0o600 });
    fs.chownSync(authorizedKeys, user.uid, user.gid);
  };
  writeKeys();

  // Connections are served by children of the listener; they outlive it unless killed too.
  const dropConnections = () => {
    const victims = child?.pid === undefined ? [] : descendants(child.pid);
    for (const pid of victims) tryKill(pid);
    return victims.length;
  };
  const stopChild = async () => {
    dropConnections();
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  };

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    user,
    privateKey: client.private,
    publicKey: client.public,
    hostFingerprint: () => fingerprintOfPublicKey(hostPublic),
    addAuthorizedKey(publicKey) {
      keys.push(publicKey);
      writeKeys();
    },
    removeAuthorizedKey(publicKey) {
      const i = keys.indexOf(publicKey);
      if (i >= 0) keys.splice(i, 1);
      writeKeys();
    },
    async rotateHostKey() {
      await stopChild();
      hostPublic = writeHostKey(dir);
      await launch(); // same port: it was ours a moment ago
    },
    dropConnections,
    async stop() {
      await stopChild();
      fs.rmSync(authorizedKeys, { force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `SHA256:<base64, unpadded>` of an OpenSSH public key line, as `ssh-keygen -l` prints it. */
export function fingerprintOfPublicKey(line: string): string {
  const blob = Buffer.from(line.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function writeHostKey(dir: string): string {
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  fs.writeFileSync(path.join(dir, 'host_ed25519'), key.private, { mode: 0o600 });
  return key.public;
}

function config(dir: string, port: number, user: string): string {
  return `${[
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${dir}/host_ed25519`,
    `PidFile ${dir}/sshd.pid`,
    // Relative to the user's home; StrictModes checks it and the home as on any VM.
    `AuthorizedKeysFile .ssh/authorized_keys-${port}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes yes',
    'PermitRootLogin no',
    `AllowUsers ${user}`,
    'AllowTcpForwarding local',
    'X11Forwarding no',
    'Subsystem sftp internal-sftp',
    'LogLevel INFO',
  ].join('\n')}\n`;
}

/** Starts sshd in the foreground; resolves with it once it listens, undefined when its port was taken. */
function spawnSshd(dir: string): Promise<ChildProcess | undefined> {
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sshd did not start listening in 10 s:\n${log}`));
    }, 10_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-20_000);
      if (/Server listening on 127\.0\.0\.1 port/.test(log)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (/Address already in use|Cannot bind/.test(log)) resolve(undefined);
      else reject(new Error(`sshd exited (${code}) before listening:\n${log}`));
    });
  });
}

/** Every process below `pid` (its connection handlers and their session processes). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length) {
    const next = [...parentOf].filter(([, ppid]) => frontier.includes(ppid)).map(([p]) => p);
    found.push(...next);
    frontier = next;
  }
  return found;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}
