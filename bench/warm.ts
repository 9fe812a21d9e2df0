/**
 * `npm run bench:warm` — request → `active` with the REAL OpenClaw gateway on the local driver,
 * cold (every provision starts its gateway) and warm (FLEET_WARM_POOL=1: a provision claims a
 * started, empty gateway), side by side in one run, interleaved sample by sample so both see
 * the same machine load. Each side is a whole control plane of its own (embedded PostgreSQL,
 * queue, worker with the real provision steps) in its own data dir. A warm sample starts once
 * the pool has a ready gateway again: the refill is the pool's background work, not the
 * tenant's wait. Goal: warm median ≤ 15 % of cold.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createDb, migrateToLatest } from '../src/db/connection.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { countReady } from '../src/db/warm-gateways.ts';
import { DEFAULT_PLAN_LIMITS } from '../src/domain/plans.ts';
import { stopGateway } from '../src/gateway/process.ts';
import { ensureOpenclawRuntime } from '../src/gateway/runtime.ts';
import { LocalHost } from '../src/hosts/local-host.ts';
import { createLogger } from '../src/observability/logger.ts';
import { RunQueue } from '../src/pipeline/queue.ts';
import { pipelineSettings } from '../src/pipeline/settings.ts';
import { provisionStepsFor } from '../src/pipeline/steps/index.ts';
import { startWorker } from '../src/pipeline/worker.ts';
import { SecretBox } from '../src/secrets/secret-box.ts';
import type { ServiceContext } from '../src/services/context.ts';
import { provisionFleet } from '../src/services/fleet/provision.ts';
import { createTenant } from '../src/services/tenants/create.ts';
import { TemplateRegistry } from '../src/templates/registry.ts';
import { busyShare } from './proc-stats.ts';
import { STRICT_OUTBOUND } from '../src/util/outbound-address.ts';

const SAMPLES = Math.max(5, Number(process.env.BENCH_SAMPLES ?? 5));
const TEMPLATE = process.env.BENCH_TEMPLATE ?? 'standard-7-agent';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Until the machine is quiet (under 15 % busy over half a second; 15 s at most). A pooled
 * gateway's refill goes on working for a second or two after its /readyz (OpenClaw's start-up
 * tail: `npm root -g`, the Control UI's asset cache): a sample taken then shares the cores with
 * it, whichever side it measures. Real pools' gateways wait idle for their claims.
 */
async function quiet(): Promise<void> {
  const until = Date.now() + 15_000;
  while (Date.now() < until && (await busyShare(500)) > 0.15) {}
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-warm-'));
// Fleet users must traverse to their machines under it.
fs.chmodSync(root, 0o755);
const log = createLogger(process.env.LOG_LEVEL ?? 'warn');

async function startStack(name: 'cold' | 'warm') {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { mode: 0o755 });
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'db'), log: { info() {}, warn: console.warn, debug() {} } });
  const { db } = createDb(pg.url, { max: 10 });
  await migrateToLatest(db);
  const config = loadConfig({
    FLEET_DATA_DIR: path.join(dir, 'app'),
    LOG_LEVEL: 'warn',
    FLEET_GATEWAY_OFFLINE: '1',
    FLEET_SAMPLE_REPO: '0',
    FLEET_WARM_POOL: name === 'warm' ? '1' : '0',
    FLEET_HOST_ID: `bench-${name}`,
  });
  const box = new SecretBox(randomBytes(32));
  const settings = pipelineSettings(config, box);
  const queue = await RunQueue.start(pg.url, log, config.pipeline.hostId);
  const worker = await startWorker({ db, steps: provisionStepsFor(config), settings, log, queue, concurrency: 1 });
  const service: ServiceContext = {
    db,
    templates: TemplateRegistry.load(),
    queue,
    box,
    computeDriver: 'local',
    outbound: STRICT_OUTBOUND,
    planLimits: DEFAULT_PLAN_LIMITS,
    offer: (runId: string) => worker.offer(runId),
  };
  let n = 0;
  return {
    name,
    db,
    hostId: config.pipeline.hostId,
    /** One provision, request → active, in ms (a failed run stops the bench with its log). */
    async sample(): Promise<number> {
      const i = n++;
      const { tenant } = await createTenant(service, {
        tenantId: `${name}_${i}`,
        name: `${name} ${i}`,
        clerkOrgId: `org_${name}${i}`,
        templateId: TEMPLATE,
      });
      const t0 = performance.now();
      await provisionFleet(service, { platform: true, tenant: tenant.id });
      for (;;) {
        const fleet = await db.selectFrom('fleets').select(['id', 'status']).where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
        if (fleet.status === 'active') return performance.now() - t0;
        if (fleet.status === 'error') {
          const entries = await db
            .selectFrom('provision_log')
            .select(['step', 'status', 'message'])
            .where('fleet_id', '=', fleet.id)
            .execute();
          throw new Error(
            `${name} provision ${i} failed:\n${entries.map((e) => `  ${e.step} ${e.status}: ${e.message ?? ''}`).join('\n')}`,
          );
        }
        await sleep(20);
      }
    },
    async gatewayStartMessages(): Promise<string[]> {
      const rows = await db
        .selectFrom('provision_log')
        .select('message')
        .where('step', '=', 'gateway_start')
        .where('status', '=', 'complete')
        .execute();
      return rows.map((r) => r.message ?? '');
    },
    /** Median duration of each step across this side's runs (where its time goes). */
    async stepMedians(): Promise<string> {
      const rows = await db
        .selectFrom('provision_log')
        .select(['step', 'duration_ms'])
        .where('status', '=', 'complete')
        .where('duration_ms', 'is not', null)
        .execute();
      const by = new Map<string, number[]>();
      for (const r of rows) by.set(r.step, [...(by.get(r.step) ?? []), r.duration_ms ?? 0]);
      return [...by].map(([step, ms]) => `${step} ${pct(ms, 50)} ms`).join(', ');
    },
    async poolReady(timeoutMs: number): Promise<void> {
      const until = Date.now() + timeoutMs;
      while ((await countReady(db, config.pipeline.hostId)) < 1) {
        if (Date.now() > until) throw new Error(`the warm pool had no ready gateway within ${timeoutMs / 1000} s`);
        await sleep(100);
      }
    },
    async close() {
      await worker.stop();
      await queue.stop();
      // The fleets' gateways are detached on purpose: stop them before the data dir goes.
      for (const parent of [path.join(dir, 'app', 'fleets'), path.join(dir, 'app', 'fleets', '.warm')]) {
        if (!fs.existsSync(parent)) continue;
        for (const entry of fs.readdirSync(parent).filter((e) => !e.startsWith('.'))) {
          await stopGateway(new LocalHost(path.join(parent, entry)), { graceMs: 3000 }).catch(() => undefined);
        }
      }
      await db.destroy();
      await pg.stop();
    },
  };
}

await ensureOpenclawRuntime({
  cacheDir: loadConfig({ FLEET_DATA_DIR: root }).pipeline.runtimeCacheDir,
  log: (m) => console.log(`[runtime] ${m}`),
});
const cold = await startStack('cold');
const warm = await startStack('warm');
try {
  const samples = { cold: [] as number[], warm: [] as number[] };
  await warm.poolReady(5 * 60_000);
  await quiet();
  for (let i = 0; i < SAMPLES; i++) {
    // Alternate which side goes first, so neither always runs right after the other's refill.
    const order = i % 2 === 0 ? [cold, warm] : [warm, cold];
    for (const stack of order) {
      const ms = await stack.sample();
      samples[stack.name].push(ms);
      console.log(`  sample ${i + 1} ${stack.name}: ${sec(ms)}`);
      // The refill starts a gateway (CPU-heavy): let it finish before the next sample of either side.
      await warm.poolReady(5 * 60_000);
      await quiet();
    }
  }
  const warmTaken = (await warm.gatewayStartMessages()).filter((m) => m.includes('from the warm pool')).length;
  const [cm, wm] = [pct(samples.cold, 50), pct(samples.warm, 50)];
  console.log(`\nRequest → active with the real OpenClaw gateway (${TEMPLATE}, no repos), ${SAMPLES} samples each, interleaved`);
  console.log(`  cold: median ${sec(cm)}   p90 ${sec(pct(samples.cold, 90))}`);
  console.log(`  warm: median ${sec(wm)}   p90 ${sec(pct(samples.warm, 90))}   (${warmTaken} of ${SAMPLES} took a pooled gateway)`);
  console.log(`  warm / cold (medians): ${((wm / cm) * 100).toFixed(1)} %   (goal ≤ 15 %)`);
  console.log(`  cold steps (medians): ${await cold.stepMedians()}`);
  console.log(`  warm steps (medians): ${await warm.stepMedians()}`);
} finally {
  await warm.close();
  await cold.close();
  fs.rmSync(root, { recursive: true, force: true });
}
