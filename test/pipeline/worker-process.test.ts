import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../gateway/helpers.ts';
import { createTestDatabase, type TestDatabase } from '../harness/db.ts';
import { waitFor } from '../harness/wait.ts';

/** A `fleet worker` process as an operator runs it: its own /metrics, and a clean stop. */
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let database: TestDatabase;
let worker: ChildProcess;
let port: number;
let output = '';

beforeAll(async () => {
  database = await createTestDatabase();
  port = await freePort();
  worker = spawn(process.execPath, ['bin/fleet.js', 'worker', '--concurrency', '1'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      FLEET_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-worker-')),
      FLEET_METRICS_PORT: String(port),
      FLEET_METRICS_TOKEN: METRICS_TOKEN,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await waitFor(() => output.includes('worker metrics listening') || worker.exitCode !== null, 30_000, 'the worker to start');
  expect(worker.exitCode, output).toBeNull();
}, 60_000);
afterAll(async () => {
  if (worker.exitCode === null) worker.kill('SIGKILL');
  await database.drop();
});

describe('fleet worker', () => {
  it('serves its own /metrics (queue depth, step durations) behind FLEET_METRICS_TOKEN', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^fleet_queue_depth 0$/m);
    expect(text).toContain('# TYPE fleet_provision_step_duration_seconds histogram');
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('answers the probes without credentials: /healthz live, /readyz ready (database answers, workers running)', async () => {
    const live = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ ok: true });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
  });

  it('stops on SIGTERM within 10 s, exit code 0, without an error in its log', async () => {
    const started = Date.now();
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const errors = output.split('\n').filter((l) => /"level":(50|60)/.test(l));
    expect(errors).toEqual([]);
  });
});
