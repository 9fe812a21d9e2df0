import fs from 'node:fs';
import net from 'node:net';
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
