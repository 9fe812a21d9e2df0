/**
 * `npm run bench:pipeline` — the control plane's own cost per provision run, with every external
 * effect replaced by a zero-latency stand-in step, next to the raw pg-boss send→work→complete
 * round trip measured in the same run; then the latency from a provision-log write to an SSE
 * client over real HTTP; then what idle SSE streams of users without a tenant cost another
 * tenant's provisioning (the statements the API runs meanwhile).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import PgBoss from 'pg-boss';
import { type KyselyPlugin, sql } from 'kysely';
import { createApp } from '../src/api/app.ts';
import { FleetViewCache } from '../src/api/fleet-view-cache.ts';
import { ClerkVerifier } from '../src/auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken } from '../src/auth/dev-issuer.ts';
import { loadConfig } from '../src/config.ts';
import { createDb, migrateToLatest } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { appendLog } from '../src/db/provision-log.ts';
import { PROVISION_STEPS } from '../src/domain/steps.ts';
import { EventHub } from '../src/events/hub.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { RunQueue } from '../src/pipeline/queue.ts';
import { pipelineSettings } from '../src/pipeline/settings.ts';
import type { StepDefinition } from '../src/pipeline/step.ts';
import { startWorker } from '../src/pipeline/worker.ts';
import { SecretBox } from '../src/secrets/secret-box.ts';
import { TemplateRegistry } from '../src/templates/registry.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { DEFAULT_PLAN_LIMITS } from '../src/domain/plans.ts';
import { provisionFleet } from '../src/services/fleet/provision.ts';
import { createTenant } from '../src/services/tenants/create.ts';
import { STRICT_OUTBOUND } from '../src/util/outbound-address.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const SSE_SAMPLES = Number(process.env.BENCH_SSE_SAMPLES ?? 200);
const IDLE_STREAMS = Number(process.env.BENCH_IDLE_STREAMS ?? 60);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-pipeline-'));
fs.chmodSync(dir, 0o755);
const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'db'), log: { info() {}, warn: console.warn, debug() {} } });
const log = createLogger('warn');
const { db } = createDb(pg.url, { max: 20 });
try {
  await migrateToLatest(db);
  const templates = TemplateRegistry.load();
  const template = templates.get('solo-engineer')!;
  const box = new SecretBox(randomBytes(32));
  const config = loadConfig({ FLEET_DATA_DIR: path.join(dir, 'app'), LOG_LEVEL: 'warn' });
  const settings = pipelineSettings(config, box);
  const queue = await RunQueue.start(pg.url, log);
  const events = await EventHub.start(pg.url, log);

  // Zero-latency stand-ins for every step: what remains is the control plane's own work.
  const steps: StepDefinition[] = PROVISION_STEPS.map((name) => ({
    name,
    timeoutMs: 10_000,
    run: async () => ({
      message: `${name} done`,
      output: { name },
      fleetUpdate:
        name === 'vm_create'
          ? { machine: { driver: 'local', name: 'v', zone: null, ip: '127.0.0.1' } }
          : name === 'complete'
            ? { dashboardUrl: 'http://127.0.0.1/' }
            : undefined,
    }),
  }));
  const worker = await startWorker({ db, steps, settings, log, queue, concurrency: 4 });
  const service: ServiceContext = {
    db,
    templates,
    queue,
    box,
    computeDriver: 'local',
    outbound: STRICT_OUTBOUND,
    planLimits: DEFAULT_PLAN_LIMITS,
    offer: (runId: string) => worker.offer(runId),
  };

  const tenants: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await createTenant(service, { tenantId: `bench_${i}`, name: `B${i}`, clerkOrgId: `org_b${i}`, templateId: template.id });
    tenants.push(r.tenant.id);
  }
  // Warm up (JIT, pool) on a few runs, excluded from the figures.
  const warm = tenants.splice(0, 10);
  for (const id of warm) await provisionFleet(service, { platform: true, tenant: id });
  await waitAllDone(warm.length);

  // Sequential: one run at a time, request → active.
  const seq = tenants.splice(0, Math.floor(tenants.length / 2));
  const latencies: number[] = [];
  for (const id of seq) {
    const t0 = performance.now();
    await provisionFleet(service, { platform: true, tenant: id });
    await waitTenantActive(id, events);
    latencies.push(performance.now() - t0);
  }
  // Where a sequential run's time goes: queued → claimed (pickup) and claimed → finished (steps).
  const { rows: phases } = await sql<{ pickup: number; steps: number }>`
    SELECT extract(epoch FROM r.started_at - r.created_at) * 1000 AS pickup, extract(epoch FROM r.finished_at - r.started_at) * 1000 AS steps
    FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id WHERE f.tenant_id = ANY(${seq}::text[])`.execute(db);
  // Burst: all remaining runs at once, one worker process with 4 concurrent runs.
  const burstStart = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(tenants.map((id) => provisionFleet(service, { platform: true, tenant: id })));
  await waitAllDone(warm.length + seq.length + tenants.length);
  const burstMs = performance.now() - burstStart;
  const cpu = process.cpuUsage(cpuStart);

  // Baseline: raw pg-boss round trip (send → handler → complete) on the same database.
  const boss = new PgBoss({ connectionString: pg.url, schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  await boss.createQueue('bench-raw', { name: 'bench-raw', policy: 'standard' });
  let resolveJob: (() => void) | undefined;
  const rawWorker = await boss.work('bench-raw', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async () => resolveJob?.());
  const raw: number[] = [];
  for (let i = 0; i < seq.length; i++) {
    const t0 = performance.now();
    const done = new Promise<void>((r) => (resolveJob = r));
    await boss.send('bench-raw', { i });
    boss.notifyWorker(rawWorker);
    await done;
    raw.push(performance.now() - t0);
  }
  await boss.stop({ graceful: false, wait: true });

  // SSE: a provision-log write committed → the event at a client over real HTTP.
  const sse = await measureSse(db, events, templates, tenants[0]!);
  const fanout = await measureIdleStreams(service, events, templates);

  console.log(`\nProvision runs with zero-latency steps (6 steps, ${RUNS - 10} measured runs)`);
  console.log(
    `  one at a time, request → active:   median ${ms(pct(latencies, 50))}   p99 ${ms(pct(latencies, 99))}   (goal: median ≤ 15 ms)`,
  );
  console.log(
    `    of which queued → claimed:        median ${ms(
      pct(
        phases.map((p) => Number(p.pickup)),
        50,
      ),
    )}   claimed → active: median ${ms(
      pct(
        phases.map((p) => Number(p.steps)),
        50,
      ),
    )}`,
  );
  console.log(`  raw pg-boss send → work → done:     median ${ms(pct(raw, 50))}   p99 ${ms(pct(raw, 99))}`);
  console.log(
    `  burst of ${tenants.length} runs, 1 worker process:   ${(tenants.length / (burstMs / 1000)).toFixed(1)} runs/s, ` +
      `CPU ${((cpu.user + cpu.system) / 1000 / tenants.length).toFixed(1)} ms per run (this process, API side included)`,
  );
  console.log(
    `SSE, log write committed → client:     median ${ms(pct(sse, 50))}   p99 ${ms(pct(sse, 99))}   (goal p99 < 100 ms, ${sse.length} samples)`,
  );
  console.log(
    `One more provisioning, statements the API ran meanwhile: ${fanout.none} with no stream open, ` +
      `${fanout.idle} with ${IDLE_STREAMS} idle streams of users without a tenant\n`,
  );

  await worker.stop();
  await events.close();
  await queue.stop();
} finally {
  await db.destroy();
  await pg.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Until the tenant's fleet is active: its status read again at each of its events (as a dashboard
 * learns it), and every 50 ms in case one was missed. Polling every millisecond instead spent the
 * shared cores on up to forty reads per run, slowing the run it measured.
 */
async function waitTenantActive(tenantId: string, hub?: EventHub) {
  let wake: (() => void) | undefined;
  const unsubscribe = hub?.subscribeTenant(tenantId, () => wake?.());
  try {
    for (;;) {
      const next = new Promise<void>((r) => {
        wake = r;
        setTimeout(r, hub ? 50 : 1);
      });
      const f = await db.selectFrom('fleets').select('status').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
      if (f.status === 'active') return;
      if (f.status === 'error') throw new Error(`run of ${tenantId} failed`);
      await next;
    }
  } finally {
    unsubscribe?.();
  }
}

async function waitAllDone(expected: number) {
  for (;;) {
    const { n } = await db
      .selectFrom('provision_runs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'complete')
      .executeTakeFirstOrThrow();
    if (Number(n) >= expected) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function measureSse(database: typeof db, hub: EventHub, reg: TemplateRegistry, _tenantId: string): Promise<number[]> {
  const keys = ensureDevKeys(path.join(dir, 'keys'));
  const verifier = new ClerkVerifier({
    jwtKey: keys.publicKeyPem,
    publishableKey: DEV_PUBLISHABLE_KEY,
    secretKey: undefined,
    authorizedParties: undefined,
  });
  const app = createApp({
    config: loadConfig({}),
    db: database,
    verifier,
    platformToken: 'p'.repeat(32),
    templates: reg,
    logger: log,
    metrics: new Metrics(),
    services: {
      db: database,
      templates: reg,
      queue: undefined as never,
      box: undefined as never,
      computeDriver: 'local',
      outbound: STRICT_OUTBOUND,
      planLimits: DEFAULT_PLAN_LIMITS,
    },
    events: hub,
    fleetCache: new FleetViewCache(database, hub, { wholeRuns: 10 }),
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const token = mintSessionToken(keys.privateKeyPem, { userId: 'user_b0', orgId: 'org_b0', orgRole: 'admin' });
  const tenant = await database
    .selectFrom('tenants')
    .innerJoin('fleets', 'fleets.tenant_id', 'tenants.id')
    .select(['tenants.id as tid', 'fleets.id as fid'])
    .where('clerk_org_id', '=', 'org_b0')
    .executeTakeFirstOrThrow();
  const run = await database.selectFrom('provision_runs').select('id').where('fleet_id', '=', tenant.fid).executeTakeFirstOrThrow();
  const res = await fetch(`http://127.0.0.1:${port}/api/fleet/events`, { headers: { authorization: `Bearer ${token}` } });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const sent = new Map<string, number>();
  const samples: number[] = [];
  let buffer = '';
  const reading = (async () => {
    while (samples.length < SSE_SAMPLES) {
      const { value, done } = await reader.read();
      if (done) return;
      const now = performance.now();
      buffer += decoder.decode(value, { stream: true });
      for (const m of buffer.matchAll(/"message":\s*"sse-(\d+)"/g)) {
        const t0 = sent.get(m[1]!);
        if (t0 !== undefined) {
          samples.push(now - t0);
          sent.delete(m[1]!);
        }
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 1);
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < SSE_SAMPLES; i++) {
    const t0 = performance.now();
    sent.set(String(i), t0);
    await database.transaction().execute((trx) =>
      appendLog(trx, {
        fleetId: tenant.fid,
        tenantId: tenant.tid,
        runId: run.id,
        step: 'complete',
        status: 'running',
        message: `sse-${i}`,
        durationMs: null,
      }),
    );
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.race([reading, new Promise((r) => setTimeout(r, 5000))]);
  await reader.cancel().catch(() => {});
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  server.close();
  return samples;
}

/**
 * One more provisioning with no stream open, then one with IDLE_STREAMS streams of users who
 * have no tenant: the statements the API ran meanwhile, counted on its database handle (each
 * its own transaction). PostgreSQL's own transaction count is too noisy here: other backends
 * flush their statistics up to seconds late.
 */
async function measureIdleStreams(service: ServiceContext, hub: EventHub, reg: TemplateRegistry) {
  let statements = 0;
  const counting: KyselyPlugin = {
    transformQuery: (args) => args.node,
    transformResult: async (args) => {
      statements++;
      return args.result;
    },
  };
  const keys = ensureDevKeys(path.join(dir, 'keys'));
  const app = createApp({
    config: loadConfig({ FLEET_MAX_STREAMS_PER_USER: '1000' }),
    db: service.db.withPlugin(counting),
    verifier: new ClerkVerifier({
      jwtKey: keys.publicKeyPem,
      publishableKey: DEV_PUBLISHABLE_KEY,
      secretKey: undefined,
      authorizedParties: undefined,
    }),
    platformToken: 'p'.repeat(32),
    templates: reg,
    logger: log,
    metrics: new Metrics(),
    services: service,
    events: hub,
    fleetCache: new FleetViewCache(service.db, hub, { wholeRuns: 10 }),
  });
  const settle = () => new Promise((r) => setTimeout(r, 300));
  const provisionOne = async (name: string) => {
    const { tenant } = await createTenant(service, {
      tenantId: name,
      name,
      clerkOrgId: `org_${name.replace(/_/g, '')}`,
      templateId: 'solo-engineer',
    });
    await settle();
    const before = statements;
    await provisionFleet(service, { platform: true, tenant: tenant.id });
    await waitTenantActive(tenant.id);
    await settle(); // the streams' reads of the last events
    return statements - before;
  };
  const none = await provisionOne('fanout_none');
  const readers: Array<ReadableStreamDefaultReader<Uint8Array>> = [];
  for (let i = 0; i < IDLE_STREAMS; i++) {
    const token = mintSessionToken(keys.privateKeyPem, { userId: `user_idle${i}` });
    const res = await app.request('/api/fleet/events', { headers: { authorization: `Bearer ${token}` } });
    const reader = res.body!.getReader();
    await reader.read(); // the snapshot
    readers.push(reader);
  }
  const idle = await provisionOne('fanout_idle');
  for (const r of readers) await r.cancel().catch(() => {});
  return { none, idle };
}
