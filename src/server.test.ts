import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/harness/db.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { type RunningServer, startServer } from './server.ts';

/** The real HTTP server (`fleet serve` without workers) against a slow client. */
let database: TestDatabase;
let server: RunningServer;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-server-'));

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    FLEET_DATA_DIR: dataDir,
    PORT: '0',
    FLEET_WORKERS: '0',
    FLEET_HTTP_HEADERS_TIMEOUT_MS: '800',
    FLEET_HTTP_REQUEST_TIMEOUT_MS: '800',
  });
  server = await startServer(config, createLogger('silent'));
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('fleet serve against slow clients', () => {
  it('cuts off a client that never finishes its headers (408), within the limit plus a check interval', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the blank line
    const started = Date.now();
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    await new Promise((r) => socket.once('close', r));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('still answers a client that is merely normal', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('fleet serve in production', () => {
  const production = (extra: Record<string, string>) =>
    loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL: database.url,
      FLEET_DATA_DIR: dataDir,
      PORT: '0',
      FLEET_WORKERS: '0',
      CLERK_JWT_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      CLERK_PUBLISHABLE_KEY: `pk_live_${Buffer.from('clerk.fleet.example.com$').toString('base64')}`,
      CLERK_AUTHORIZED_PARTIES: 'https://fleet.example.com',
      FLEET_PLATFORM_TOKEN: 'fpt_production_token_0123456789',
      FLEET_SECRETS_KEY: 'b'.repeat(64),
      ...extra,
    });
  /** Starts and stops a production server; its log lines at warn and above. */
  async function warningsOf(config: ReturnType<typeof loadConfig>): Promise<Array<{ msg: string }>> {
    const sink = new PassThrough();
    let out = '';
    sink.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const running = await startServer(config, createLogger('warn', sink));
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    await running.close();
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string });
  }

  it('warns that /metrics is public when FLEET_METRICS_TOKEN is not set, and not when it is', async () => {
    const open = await warningsOf(production({}));
    expect(open.map((l) => l.msg)).toContainEqual(expect.stringMatching(/\/metrics is public.*FLEET_METRICS_TOKEN/));
    const guarded = await warningsOf(production({ FLEET_METRICS_TOKEN: 'fmt_scraper_token_0123456789abcdef' }));
    expect(guarded.map((l) => l.msg).join('\n')).not.toContain('/metrics');
  });
});
