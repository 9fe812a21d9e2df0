import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './gateway/helpers.ts';
import { waitFor } from './harness/wait.ts';

/**
 * The production build: `npm run build` compiles src/ to JavaScript that plain Node runs, no
 * TypeScript loader involved (tsx is a devDependency), with the files the code reads at run time.
 * Built beside dist/ (same depth, so the templates are found the same way), then removed.
 */
const run = promisify(execFile);
const out = `.build-test-${randomBytes(4).toString('hex')}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-build-'));
// Node without any loader, and an environment without the test runner's.
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', FLEET_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };

afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('gives JavaScript that runs `fleet` on plain Node, serve included', { timeout: 300_000 }, async () => {
    const built = await run(process.execPath, ['scripts/build.mjs', out], { timeout: 240_000 });
    expect(built.stdout).toMatch(/built \.build-test-\w+ \(\d+ files copied/);
    expect(fs.existsSync(path.join(out, 'gateway/runtime-lock/runtime/package-lock.json'))).toBe(true);
    expect(fs.readdirSync(path.join(out, 'db/migrations')).filter((f) => f.endsWith('.js')).length).toBeGreaterThanOrEqual(8);
    // No test file and no TypeScript in the build.
    const files = fs.readdirSync(out, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith('.ts') || f.includes('.test.'))).toEqual([]);

    const token = await run(process.execPath, [`${out}/cli/main.js`, 'dev', 'token', '--user', 'user_build'], { env });
    expect(token.stdout.trim().split('.')).toHaveLength(3);

    const port = await freePort();
    const serve = spawn(process.execPath, [`${out}/cli/main.js`, 'serve'], {
      env: { ...env, PORT: String(port), FLEET_WORKERS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    serve.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      let status = 0;
      await waitFor(
        async () => {
          status = await fetch(`http://127.0.0.1:${port}/healthz`).then(
            (r) => r.status,
            () => 0,
          );
          return status === 200 || serve.exitCode !== null;
        },
        90_000,
        'the built server to answer /healthz',
      );
      expect(status, log).toBe(200);
      const fleet = await fetch(`http://127.0.0.1:${port}/api/fleet`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
      expect(fleet.status).toBe(200);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('exit', r));
    }
  });
});
