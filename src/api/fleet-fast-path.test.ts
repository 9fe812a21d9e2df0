import fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { MemoryStore } from 'hono-rate-limiter';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness/db.ts';
import { ClerkVerifier } from '../auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken } from '../auth/dev-issuer.ts';
import { loadConfig } from '../config.ts';
import { appendLog } from '../db/provision-log.ts';
import { DEFAULT_PLAN_LIMITS } from '../domain/plans.ts';
import { EventHub } from '../events/hub.ts';
import { createLogger } from '../observability/logger.ts';
import { Metrics } from '../observability/metrics.ts';
import { TemplateRegistry } from '../templates/registry.ts';
import { STRICT_OUTBOUND } from '../util/outbound-address.ts';
import { createApp } from './app.ts';
import type { AppEnv } from './context.ts';
import { withFleetFastPath } from './fleet-fast-path.ts';
import { FleetViewCache } from './fleet-view-cache.ts';

/**
 * GET /api/fleet's fast path in front of the real app, over real HTTP: which requests it answers
 * from memory (the app never sees them), that those answers are the app's, and that it keeps
 * every property of the full way (expiry, staleness after a write, rate limit, tenants apart).
 */
let database: TestDatabase;
let events: EventHub;
let server: Server;
let base: string;
let privateKeyPem: string;
/** Requests that reached the app (the fast path declined them). */
let appRequests = 0;
const RATE_LIMIT = 20;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-fast-path-'));

beforeAll(async () => {
  database = await createTestDatabase();
  for (const t of ['a', 'b']) {
    await sql`INSERT INTO tenants (id, slug, name, plan, kind, clerk_org_id) VALUES (${`tnt_${t}`}, ${`t-${t}`}, ${`T ${t}`}, 'free', 'org', ${`org_${t}`})`.execute(
      database.db,
    );
    await sql`INSERT INTO fleets (id, tenant_id, status, template_id, agents, repos)
      VALUES (${`flt_${t}`}, ${`tnt_${t}`}, 'active', 'solo-engineer', '[]'::jsonb, ${JSON.stringify([`org/repo-${t}`])}::jsonb)`.execute(
      database.db,
    );
  }
  events = await EventHub.start(database.url, createLogger('silent'));
  const keys = ensureDevKeys(dataDir);
  privateKeyPem = keys.privateKeyPem;
  const config = loadConfig({ NODE_ENV: 'test', FLEET_DATA_DIR: dataDir, FLEET_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT) });
  const templates = TemplateRegistry.load();
  const deps = {
    config,
    db: database.db,
    verifier: new ClerkVerifier({
      jwtKey: keys.publicKeyPem,
      publishableKey: DEV_PUBLISHABLE_KEY,
      secretKey: undefined,
      authorizedParties: undefined,
    }),
    platformToken: 'p'.repeat(32),
    templates,
    logger: createLogger('silent'),
    metrics: new Metrics(),
    services: {
      db: database.db,
      templates,
      queue: undefined as never,
      box: undefined as never,
      computeDriver: 'local' as const,
      outbound: STRICT_OUTBOUND,
      planLimits: DEFAULT_PLAN_LIMITS,
    },
    events,
    fleetCache: new FleetViewCache(database.db, events, { wholeRuns: 10 }),
    userRateStore: new MemoryStore<AppEnv>(),
  };
  const full = getRequestListener(createApp(deps).fetch);
  const countingApp = (req: IncomingMessage, res: ServerResponse) => {
    appRequests++;
    return full(req, res);
  };
  server = createServer(withFleetFastPath(deps, countingApp) as Parameters<typeof createServer>[0]);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await events?.close();
  await database?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
beforeEach(() => {
  appRequests = 0;
});

let users = 0;
/** A new user (its own rate-limit count) of tenant `t`'s organisation. */
const tokenFor = (t: 'a' | 'b', ttlSeconds = 3600) =>
  mintSessionToken(privateKeyPem, { userId: `user_fast${++users}`, orgId: `org_${t}`, orgRole: 'admin', ttlSeconds });
const getFleet = (token: string, init: RequestInit = {}) =>
  fetch(`${base}/api/fleet`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
const headersOf = (res: Response) =>
  Object.fromEntries([...res.headers].filter(([k]) => !['date', 'x-request-id', 'ratelimit'].includes(k)));
const remaining = (res: Response) => Number(/remaining=(\d+)/.exec(res.headers.get('ratelimit') ?? '')?.[1]);

describe('GET /api/fleet fast path', () => {
  it("answers a repeated request from memory, with the app's body and headers, counting the same rate limit", async () => {
    const token = tokenFor('a');
    const first = await getFleet(token);
    expect(appRequests).toBe(1); // a new token and an empty cache: the full way
    const second = await getFleet(token);
    expect(appRequests).toBe(1); // from memory
    expect(second.status).toBe(200);
    expect(await second.text()).toBe(await first.text());
    expect(headersOf(second)).toEqual(headersOf(first));
    expect(second.headers.get('x-request-id')).toMatch(/^req_/);
    expect(remaining(second)).toBe(remaining(first) - 1);
    const asked = await getFleet(token, { headers: { 'x-request-id': 'trace-42' } });
    expect(asked.headers.get('x-request-id')).toBe('trace-42');
  });

  it('serves each tenant its own fleet', async () => {
    const a = tokenFor('a');
    const b = tokenFor('b');
    for (const token of [a, b, a, b]) await getFleet(token);
    const [ra, rb] = [await getFleet(a), await getFleet(b)];
    expect(appRequests).toBe(2);
    expect(((await ra.json()) as { fleet: { repos: string[] } }).fleet.repos).toEqual(['org/repo-a']);
    expect(((await rb.json()) as { fleet: { repos: string[] } }).fleet.repos).toEqual(['org/repo-b']);
  });

  it('shows a write as soon as its event arrives', async () => {
    const token = tokenFor('a');
    await getFleet(token);
    await appendLog(database.db, {
      fleetId: 'flt_a',
      tenantId: 'tnt_a',
      runId: null,
      step: 'vm_create',
      status: 'complete',
      message: 'written after the cache was filled',
      durationMs: 1,
    });
    const deadline = Date.now() + 5000;
    let body = '';
    while (Date.now() < deadline && !body.includes('written after the cache was filled')) {
      body = await (await getFleet(token)).text();
    }
    expect(body).toContain('written after the cache was filled');
  });

  it('leaves an expired token to the full verification', async () => {
    const token = tokenFor('a', 1);
    await getFleet(token);
    await getFleet(token);
    expect(appRequests).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    await getFleet(token);
    expect(appRequests).toBe(2);
  });

  it('leaves a user over its rate limit to the app, which answers 429', async () => {
    const token = tokenFor('b');
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT + 1; i++) statuses.push((await getFleet(token)).status);
    expect(statuses.slice(0, RATE_LIMIT).every((s) => s === 200)).toBe(true);
    expect(statuses[RATE_LIMIT]).toBe(429);
    expect(appRequests).toBe(2); // the first (new token) and the refused one
  });

  it('leaves every other request to the app', async () => {
    const token = tokenFor('a');
    await getFleet(token);
    appRequests = 0;
    await fetch(`${base}/api/fleet?x=1`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${base}/api/fleet`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    await fetch(`${base}/api/fleet`, { headers: { authorization: 'Bearer not-a-token' } });
    await fetch(`${base}/api/templates`, { headers: { authorization: `Bearer ${token}` } });
    expect(appRequests).toBe(4);
  });
});
