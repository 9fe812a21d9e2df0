import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
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

/** Sends raw bytes and reads until the server closes the connection. */
async function raw(bytes: string): Promise<string> {
  const socket = net.connect(server.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => {});
  socket.end(Buffer.from(bytes, 'latin1'));
  await new Promise((r) => socket.once('close', r));
  return answer;
}

function envelopeOf(answer: string): { status: number; code: string; requestId: string; headerId: string | undefined } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const parsed = JSON.parse(body) as { ok: boolean; error: { code: string; requestId: string } };
  expect(parsed.ok).toBe(false);
  expect(head).toMatch(/\r\ncontent-type: application\/json/i);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    code: parsed.error.code,
    requestId: parsed.error.requestId,
    headerId: /\r\nx-request-id: (\S+)/i.exec(head)?.[1],
  };
}

// Found by test/fuzz/wire-fuzz.test.ts: Node's parser answered these itself, with no body at all.
describe("requests Node's HTTP parser refuses", () => {
  it.each([
    ['a raw byte above 0x7f in the target', 'GET /api/fleet\x80 HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_input'],
    [
      'Transfer-Encoding and Content-Length together',
      'POST /api/tenants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      400,
      'invalid_input',
    ],
    ['a NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\0b\r\n\r\n', 400, 'invalid_input'],
    [
      'CONNECT, which Node closed without a word',
      'CONNECT 127.0.0.1:5432 HTTP/1.1\r\nHost: 127.0.0.1:5432\r\n\r\n',
      405,
      'method_not_allowed',
    ],
    ['headers over 16 KB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
  ])('%s: answered in the error envelope', async (_what, bytes, status, code) => {
    const e = envelopeOf(await raw(bytes));
    expect(e).toMatchObject({ status, code });
    expect(e.requestId).toBe(e.headerId);
  });

  it('a client that never finishes its headers gets its 408 in the envelope too', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise((r) => socket.once('close', r));
    expect(envelopeOf(answer)).toMatchObject({ status: 408, code: 'request_timeout' });
  });
});

// Found by the soak (bench/soak.ts): the next request on a kept-alive connection failed with
// "other side closed" after the server refused a body it did not read to the end.
describe('a refused body and the kept-alive connection it came on', () => {
  it.each([
    ['413, a body over the limit', { 'content-type': 'application/json' }, JSON.stringify({ pad: 'x'.repeat(1_200_000) }), 413],
    ['415, a body that is not JSON', { 'content-type': 'text/plain' }, 'x'.repeat(200_000), 415],
    ['413, a chunked body over the limit (no Content-Length to judge it by)', { 'content-type': 'application/json' }, 'chunked', 413],
  ])('%s: the client is told to close, and its next request succeeds', async (_what, headers, given, status) => {
    // A stream has no length: undici sends it chunked, and the limit must catch it while reading.
    const bodyOf = () =>
      given === 'chunked'
        ? new ReadableStream({
            start(controller) {
              for (let i = 0; i < 12; i++) controller.enqueue(new TextEncoder().encode(i === 0 ? '{"pad":"' : 'x'.repeat(100_000)));
              controller.enqueue(new TextEncoder().encode('"}'));
              controller.close();
            },
          })
        : given;
    const agent = new Agent({ connections: 1 });
    try {
      for (let i = 0; i < 5; i++) {
        const refused = await fetch(`${server.url}/api/fleet/provision`, {
          method: 'POST',
          headers,
          body: bodyOf(),
          dispatcher: agent,
          duplex: 'half',
        } as RequestInit);
        expect(refused.status).toBe(status);
        expect(refused.headers.get('connection')).toBe('close');
        await refused.text();
        const next = await fetch(`${server.url}/healthz`, { dispatcher: agent } as RequestInit);
        expect(next.status).toBe(200);
        await next.text();
      }
    } finally {
      await agent.close();
    }
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
