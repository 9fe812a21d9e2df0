import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { KyselyPlugin } from 'kysely';
import os from 'node:os';
import path from 'node:path';
import { createApp } from '../../src/api/app.ts';
import { FleetViewCache } from '../../src/api/fleet-view-cache.ts';
import { fleetViewBounds } from '../../src/api/serialize.ts';
import { ClerkVerifier } from '../../src/auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken, type MintOptions } from '../../src/auth/dev-issuer.ts';
import { loadConfig } from '../../src/config.ts';
import { countReady } from '../../src/db/warm-gateways.ts';
import { warmPoolsOf } from '../../src/pipeline/warm-machine.ts';
import { countFleetsByStatus } from '../../src/db/tenants.ts';
import { countOrphans } from '../../src/db/orphan-machines.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { TemplateRegistry } from '../../src/templates/registry.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { randomBytes } from 'node:crypto';
import { EventHub } from '../../src/events/hub.ts';
import { RunQueue } from '../../src/pipeline/queue.ts';
import { pipelineSettings, type PipelineSettings } from '../../src/pipeline/settings.ts';
import type { StepDefinition } from '../../src/pipeline/step.ts';
import { LOCAL_STEPS } from '../../src/pipeline/steps/index.ts';
import { type RunningWorker, startWorker } from '../../src/pipeline/worker.ts';
import { SecretBox } from '../../src/secrets/secret-box.ts';
import { stopGateway } from '../../src/gateway/process.ts';
import { LocalHost } from '../../src/hosts/local-host.ts';
import { devSignInWith } from '../../src/runtime/auth-setup.ts';
import { ensureSampleRepo } from '../../src/workspace/sample-repo.ts';

export const PLATFORM_TOKEN = 'fpt_test_platform_token_0123456789';

/**
 * The real app (real Clerk verification of real RS256 tokens, real PostgreSQL) called in-process
 * through `app.request`, plus helpers to mint sessions and seed tenants.
 */
export interface TestApp {
  app: ReturnType<typeof createApp>;
  database: TestDatabase;
  dataDir: string;
  privateKeyPem: string;
  token(opts: MintOptions): string;
  request(pathname: string, init?: RequestInit & { token?: string; platform?: boolean | string; json?: unknown }): Promise<Response>;
  createTenant(body: Record<string, unknown>): Promise<Response>;
  queue: RunQueue;
  events: EventHub;
  box: SecretBox;
  settings: PipelineSettings;
  /** Present when created with `workers`. */
  worker?: RunningWorker;
  /** Statements the routes have run through their database handle so far (workers and services not counted). */
  routeQueries(): number;
  close(): Promise<void>;
}

/** Stops every gateway the local driver started under `dataDir` (they are detached on purpose). */
export async function stopFleetGateways(dataDir: string): Promise<void> {
  const fleets = path.join(dataDir, 'fleets');
  if (!fs.existsSync(fleets)) return;
  for (const slug of fs.readdirSync(fleets).filter((n) => !n.startsWith('.'))) {
    await stopGateway(new LocalHost(path.join(fleets, slug))).catch(() => undefined);
  }
  // Machines that came from the warm pool live under fleets/.warm/ (src/compute/local.ts).
  const warm = path.join(fleets, '.warm');
  if (!fs.existsSync(warm)) return;
  for (const id of fs.readdirSync(warm).filter((n) => !n.startsWith('.'))) {
    await stopGateway(new LocalHost(path.join(warm, id))).catch(() => undefined);
  }
}

export interface TestAppOptions {
  authorizedParties?: string[];
  /** Run provisioning workers in this process, with these steps (default: the real local steps). */
  workers?: { concurrency?: number; steps?: StepDefinition[] };
  /** Environment for the config (FLEET_* pipeline settings, faults…). */
  env?: Record<string, string>;
  /** Capture every log line (at trace level) here instead of discarding them. */
  logSink?: Writable;
  /** Compute drivers besides the local one, and the one new fleets get (default local). */
  drivers?: PipelineSettings['drivers'];
  computeDriver?: 'local' | 'gcp';
  /** Serve dev sign-in's POST /api/dev/session (default true; false plays a server with Clerk configured). */
  devSignIn?: boolean;
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-test-app-'));
  const keys = ensureDevKeys(dataDir);
  // The stand-in gateway and the runtime cache follow the test process's environment (the files
  // that use the stand-in set FLEET_GATEWAY_COMMAND there); everything else is the test's own.
  const { FLEET_GATEWAY_COMMAND, FLEET_RUNTIME_CACHE_DIR, XDG_CACHE_HOME } = process.env;
  const inherited = { FLEET_GATEWAY_COMMAND, FLEET_RUNTIME_CACHE_DIR, XDG_CACHE_HOME };
  // Tests poll and race far faster than a person: the per-user rate limit is raised unless a test sets it.
  const config = loadConfig({
    NODE_ENV: 'test',
    FLEET_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    FLEET_RATE_LIMIT_PER_MINUTE: '1000000',
    FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: '1000000',
    ...inherited,
    ...opts.env,
  });
  const logger = opts.logSink ? createLogger('trace', opts.logSink) : createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const templates = TemplateRegistry.load();
  const box = new SecretBox(randomBytes(32));
  const settings = pipelineSettings(config, box, opts.drivers);
  if (config.pipeline.sampleRepo) await ensureSampleRepo(dataDir); // as startCore does
  const queue = await RunQueue.start(database.url, logger, config.pipeline.hostId);
  const events = await EventHub.start(database.url, logger);
  const metrics = new Metrics({
    fleetsByStatus: () => countFleetsByStatus(database.db),
    orphanMachines: () => countOrphans(database.db),
    warmPoolReady: () => countReady(database.db, warmPoolsOf(settings)),
  });
  const worker = opts.workers
    ? await startWorker({
        db: database.db,
        steps: opts.workers.steps ?? LOCAL_STEPS,
        settings,
        log: logger,
        metrics,
        queue,
        concurrency: opts.workers.concurrency ?? 2,
        watchdogMs: 500,
      })
    : undefined;
  const verifier = new ClerkVerifier({
    jwtKey: keys.publicKeyPem,
    publishableKey: DEV_PUBLISHABLE_KEY,
    secretKey: undefined,
    authorizedParties: opts.authorizedParties,
  });
  const fleetCache = new FleetViewCache(database.db, events, fleetViewBounds(config));
  let routeQueries = 0;
  const countingPlugin: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      routeQueries++;
      return args.result;
    },
  };
  const app = createApp({
    config,
    db: database.db.withPlugin(countingPlugin),
    verifier,
    platformToken: PLATFORM_TOKEN,
    templates,
    logger,
    metrics,
    services: {
      db: database.db,
      templates,
      queue,
      box,
      computeDriver: opts.computeDriver ?? config.compute.driver,
      outbound: config.outbound,
      planLimits: config.limits.plans,
      offer: (runId) => worker?.offer(runId),
      changed: (id) => fleetCache.invalidate(id),
    },
    events,
    fleetCache,
    devSignIn: opts.devSignIn === false ? undefined : devSignInWith(keys.privateKeyPem),
    clerkPublishableKey: opts.devSignIn === false ? DEV_PUBLISHABLE_KEY : undefined,
  });
  const t: TestApp = {
    app,
    database,
    dataDir,
    privateKeyPem: keys.privateKeyPem,
    token: (m) => mintSessionToken(keys.privateKeyPem, m),
    request: (pathname, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.token) headers.set('authorization', `Bearer ${init.token}`);
      if (init.platform) headers.set('x-platform-token', init.platform === true ? PLATFORM_TOKEN : init.platform);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      // As a real client would send it: the server tells a body from none by this header.
      if (typeof body === 'string' && !headers.has('content-length')) headers.set('content-length', String(Buffer.byteLength(body)));
      return Promise.resolve(app.request(pathname, { ...init, headers, body }));
    },
    createTenant: (body) => t.request('/api/tenants', { method: 'POST', platform: true, json: body }),
    queue,
    events,
    box,
    settings,
    worker,
    routeQueries: () => routeQueries,
    close: async () => {
      await worker?.stop();
      await stopFleetGateways(dataDir);
      await events.close();
      await queue.stop();
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A healthy worker that appears after another died: its watchdog finds silent runs quickly and resumes them. */
export function startRescuer(app: TestApp): Promise<RunningWorker> {
  return startWorker({
    db: app.database.db,
    steps: LOCAL_STEPS,
    settings: app.settings,
    log: createLogger('silent'),
    queue: app.queue,
    concurrency: 1,
    watchdogMs: 500,
  });
}
