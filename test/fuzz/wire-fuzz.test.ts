import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevKeys, mintSessionToken } from '../../src/auth/dev-issuer.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { createTestDatabase, type TestDatabase } from '../harness/db.ts';
import { answerProblems } from './answer-checks.ts';
import { type OpenApiDocument, operationsOf } from './openapi-requests.ts';
import { rawRequest } from './raw-http.ts';

/**
 * The same promises as the in-process fuzz, on the wire: `fleet serve`'s own HTTP server (Node's
 * parser, the adapter, our timeouts) gets the bytes no `fetch` would send — raw non-UTF-8 bytes in
 * the target and headers, NUL and CR in header values, headers past Node's 16 KB, bad or lying
 * Content-Length, broken chunked bodies, odd request lines. Every answer, including the ones Node's
 * parser gives before our app sees anything, is a non-5xx in the error envelope.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_WIRE_RUNS ?? 300);
const PLATFORM_TOKEN = 'fpt_wire_fuzz_platform_token_0123456789';

let database: TestDatabase;
let server: RunningServer;
let doc: OpenApiDocument;
let adminToken: string;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-wire-fuzz-'));

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    FLEET_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    FLEET_WORKERS: '0',
    FLEET_PLATFORM_TOKEN: PLATFORM_TOKEN,
    // A request that never completes (a Content-Length that lies) is cut off quickly.
    FLEET_HTTP_HEADERS_TIMEOUT_MS: '600',
    FLEET_HTTP_REQUEST_TIMEOUT_MS: '600',
    FLEET_RATE_LIMIT_PER_MINUTE: '1000000',
    FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: '1000000',
  });
  server = await startServer(config, createLogger('silent'));
  doc = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as OpenApiDocument;
  adminToken = mintSessionToken(ensureDevKeys(dataDir).privateKeyPem, { userId: 'user_wire', orgId: 'org_wire', orgRole: 'admin' });
  const created = await fetch(`${server.url}/api/tenants`, {
    method: 'POST',
    headers: { 'x-platform-token': PLATFORM_TOKEN, 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId: 'wire_known', name: 'Wire Known', clerkOrgId: 'org_wireKnown' }),
  });
  expect(created.status).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const b = (s: string) => Buffer.from(s, 'latin1');
const utf8 = (s: string) => Buffer.from(s, 'utf8');

// What follows a route's path in the request target, as raw bytes.
const TARGET_SUFFIXES: Buffer[] = [
  b(''),
  b(''),
  b('?limit=2'),
  b('%FF'),
  b('%C0%AF'),
  b('/%2e%2e/%2e%2e/etc/passwd'),
  b('/../../'),
  b('//'),
  b('?%zz=%'),
  b('?a=%00'),
  b('#fragment'),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0x80]),
  utf8('/é✓'),
  utf8('?q=日本'),
  b(`?pad=${'x'.repeat(8_000)}`),
  b(`/${'a'.repeat(20_000)}`),
];

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'get', 'PURGE', 'CONNECT', 'TRACE', 'G@T', 'X'.repeat(64)];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', 'HTTP/9', ''];

// One or more header lines (without the final CRLF), raw.
const headerLines = fc.oneof(
  { weight: 4, arbitrary: fc.constant(b('')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      b('X-Request-Id: a\0b'),
      b('X-Request-Id: line\rbreak'),
      Buffer.concat([b('X-Request-Id: '), Buffer.from([0xc3, 0xa9, 0xff])]),
      Buffer.concat([b('Authorization: Bearer '), Buffer.from([0xe2, 0x9c, 0x93, 0x00])]),
      b('Authorization: Bearer'),
      b('Authorization: Bearer  '),
      b('Authorization: Basic Og=='),
      b(`Authorization: Bearer ${'a'.repeat(12_000)}`),
      b(`X-Pad: ${'p'.repeat(20_000)}`),
      b('No-Colon-Here'),
      b(': empty-name'),
      b('Bad Name: x'),
      b('X-Folded: a\r\n continued'),
      b('Cookie: __session=; __session=x'),
      b('Cookie: __session=not-a-jwt; __client_uat=1'),
      b('Host: 127.0.0.1\r\nHost: evil.example'),
      b('Last-Event-ID: 99999999999999999999999'),
      b('Last-Event-ID: -1'),
      b('Expect: 100-continue'),
      b('X-Platform-Token: '),
      Buffer.concat([b('X-Platform-Token: '), Buffer.from([0xff])]),
    ),
  },
);

const credentialLine = fc.constantFrom('none', 'session', 'platform');

// A body and the framing headers that announce it, honest or not.
const framedBody = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ framing: 'length', body: b('') }) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom(b('{}'), b('{"templateId":"solo-engineer"}'), b('{"tenantId":"wire_x","name":"X","clerkOrgId":"org_wireX"}'))
      .map((body) => ({ framing: 'length', body })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom(Buffer.from([0x7b, 0xff, 0x7d]), b('{"a":"\\u0000"}'), utf8('{"name":"日本\uD800"}'), b('not json'))
      .map((body) => ({ framing: 'length', body })),
  },
  { weight: 2, arbitrary: fc.constant({ framing: 'chunked', body: b('{"repos":[]}') }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('bad-chunk', 'te-and-cl', 'length-short', 'length-negative', 'length-nan', 'length-twice', 'length-long')
      .map((framing) => ({ framing, body: b('{"x":1}') })),
  },
);

function framing(kind: string, body: Buffer): { headers: string[]; payload: Buffer } {
  const json = 'Content-Type: application/json';
  switch (kind) {
    case 'length':
      return { headers: body.length > 0 ? [json, `Content-Length: ${body.length}`] : [], payload: body };
    case 'chunked':
      return {
        headers: [json, 'Transfer-Encoding: chunked'],
        payload: Buffer.concat([b(`${body.length.toString(16)}\r\n`), body, b('\r\n0\r\n\r\n')]),
      };
    case 'bad-chunk':
      return { headers: [json, 'Transfer-Encoding: chunked'], payload: b('zz\r\n{}\r\n0\r\n\r\n') };
    case 'te-and-cl':
      return { headers: [json, 'Transfer-Encoding: chunked', `Content-Length: ${body.length}`], payload: b('7\r\n{"x":1}\r\n0\r\n\r\n') };
    case 'length-short':
      return { headers: [json, 'Content-Length: 3'], payload: body };
    case 'length-negative':
      return { headers: [json, 'Content-Length: -5'], payload: body };
    case 'length-nan':
      return { headers: [json, 'Content-Length: seven'], payload: body };
    case 'length-twice':
      return { headers: [json, `Content-Length: ${body.length}`, 'Content-Length: 1'], payload: body };
    case 'length-long':
      // Announces more than it sends, then waits: the request timeout must answer it.
      return { headers: [json, `Content-Length: ${body.length + 50}`], payload: body };
    default:
      throw new Error(`unknown framing ${kind}`);
  }
}

describe('wire fuzz: fleet serve on a socket', () => {
  it('answers every malformed request with a non-5xx in the error envelope, Node parser errors included', {
    timeout: 120_000,
  }, async () => {
    const targets = operationsOf(doc).map((o) => ({ method: o.method, path: o.path.replace('{tenantId}', 'wire_known') }));
    const statuses: Record<number, number> = {};
    const request = fc.record({
      route: fc.constantFrom(...targets),
      method: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
      suffix: fc.constantFrom(...TARGET_SUFFIXES),
      absolute: fc.boolean(),
      version: fc.constantFrom(...VERSIONS),
      credential: credentialLine,
      extra: headerLines,
      body: framedBody,
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const method = r.method || r.route.method;
        const { headers, payload } = framing(r.body.framing, r.body.body);
        const credential = {
          none: [],
          session: [`Authorization: Bearer ${adminToken}`],
          platform: [`X-Platform-Token: ${PLATFORM_TOKEN}`],
        }[r.credential];
        const target = Buffer.concat([b(r.absolute ? `http://127.0.0.1:${server.port}` : ''), b(r.route.path), r.suffix]);
        const head = Buffer.concat([
          b(`${method} `),
          target,
          b(` ${r.version}\r\nHost: 127.0.0.1\r\nConnection: close\r\n`),
          ...[...credential, ...headers].map((h) => b(`${h}\r\n`)),
          r.extra.length > 0 ? Buffer.concat([r.extra, b('\r\n')]) : b(''),
          b('\r\n'),
        ]);
        const bytes = Buffer.concat([head, payload]);
        const answer = await rawRequest(server.port, bytes);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        const sent = `${bytes.toString('latin1')}\n${bytes.toString('utf8')}`;
        const problems = answer.status === 0 ? ['closed without an answer'] : answerProblems(answer, sent, { head: method === 'HEAD' });
        if (problems.length > 0) {
          throw new Error(
            `${JSON.stringify(head.toString('latin1').slice(0, 400))} → ${answer.status}: ${problems.join('; ')}\n${answer.raw.slice(0, 400)}`,
          );
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    if (process.env.FUZZ_REPORT) console.log(JSON.stringify(statuses));
  });
});
