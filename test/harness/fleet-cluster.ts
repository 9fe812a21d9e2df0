import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken } from '../../src/auth/dev-issuer.ts';

/**
 * `fleet` processes as an operator runs them on one database: `fleet migrate`, API processes
 * (`fleet serve --workers 0`) and `fleet worker` processes, each a real subprocess configured by
 * its environment only (an allow-list, nothing inherited but PATH and HOME), with real Clerk
 * settings (a key pair of the test's own) so every API process verifies the same session tokens.
 */
const BIN = path.resolve(import.meta.dirname, '../../bin/fleet.js');

export interface FleetProcess {
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its JSON log lines, parsed (other lines skipped). */
  logLines(): Array<Record<string, unknown> & { level: number; msg: string }>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ApiProcess extends FleetProcess {
  url: string;
}

export interface FleetCluster {
  databaseUrl: string;
  token(userId: string): string;
  /** Migrates the database (the deploy step), as `fleet migrate`. */
  migrate(): Promise<void>;
  startApi(env?: Record<string, string>): Promise<ApiProcess>;
  startWorker(opts?: { concurrency?: number; env?: Record<string, string> }): Promise<FleetProcess>;
  /** SIGKILLs whatever is still running and removes the data dirs. */
  close(): Promise<void>;
}

export function fleetCluster(databaseUrl: string, shared: Record<string, string> = {}): FleetCluster {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cluster-'));
  fs.chmodSync(root, 0o755);
  const keys = ensureDevKeys(path.join(root, 'keys'));
  const children: ChildProcess[] = [];
  let n = 0;
  const baseEnv = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? root,
    DATABASE_URL: databaseUrl,
    FLEET_DATA_DIR: fs.mkdtempSync(path.join(root, `p${++n}-`)),
    FLEET_RUNTIME_CACHE_DIR: path.join(root, 'runtime-cache'),
    FLEET_SECRETS_KEY: SECRETS_KEY,
    FLEET_PLATFORM_TOKEN: PLATFORM_TOKEN,
    CLERK_JWT_KEY: keys.publicKeyPem,
    CLERK_PUBLISHABLE_KEY: DEV_PUBLISHABLE_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...shared,
  });
  const spawnFleet = (args: string[], env: Record<string, string>): FleetProcess => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
    return {
      child,
      output: () => out,
      logLines: () =>
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .flatMap((l) => {
            try {
              return [JSON.parse(l) as Record<string, unknown> & { level: number; msg: string }];
            } catch {
              return [];
            }
          }),
      exited,
    };
  };
  const waitForLine = async (p: FleetProcess, msg: string, what: string) => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const line = p.logLines().find((l) => l.msg === msg);
      if (line) return line;
      if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${what} exited before it was ready:\n${p.output()}`);
      if (Date.now() > deadline) throw new Error(`${what} was not ready in 180 s:\n${p.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    databaseUrl,
    token: (userId) => mintSessionToken(keys.privateKeyPem, { userId, ttlSeconds: 3600 }),
    migrate: async () => {
      const p = spawnFleet(['migrate'], baseEnv());
      const { code } = await p.exited;
      if (code !== 0) throw new Error(`fleet migrate failed (${code}):\n${p.output()}`);
    },
    startApi: async (env = {}) => {
      const p = spawnFleet(['serve', '--workers', '0'], { ...baseEnv(), PORT: '0', ...env });
      const line = await waitForLine(p, 'Agent Fleet API listening', 'fleet serve');
      return { ...p, url: String(line.url) };
    },
    startWorker: async (opts = {}) => {
      const p = spawnFleet(['worker', '--concurrency', String(opts.concurrency ?? 4)], { ...baseEnv(), ...opts.env });
      await waitForLine(p, 'worker started', 'fleet worker');
      return p;
    },
    close: async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, 'exit') : undefined)));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

export const PLATFORM_TOKEN = `fpt_cluster_${randomBytes(12).toString('hex')}`;
const SECRETS_KEY = randomBytes(32).toString('hex');
