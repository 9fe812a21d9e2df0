/**
 * `npm run bench:scale` — the multi-process burst of test/scale/ at 1,000 tenants (BENCH_TENANTS)
 * on a throwaway cluster of Debian's PostgreSQL server: 2 API processes (`fleet serve --workers 0`)
 * and 3 `fleet worker` processes (BENCH_WORKERS, each `--concurrency` BENCH_CONCURRENCY), with
 * zero-latency stand-in steps so only the control plane is measured. The API processes take every
 * request first, then the workers start and drain the queue: runs/s per worker process, printed
 * next to the raw pg-boss round trip measured on the same server in the same run. Not in CI.
 */
import os from 'node:os';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { fleetCluster } from '../test/harness/fleet-cluster.ts';
import { startSystemPostgres } from '../test/harness/system-postgres.ts';

const TENANTS = Number(process.env.BENCH_TENANTS ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const IN_FLIGHT = 64; // provision requests open at once (the burst's clients)
const RAW_SAMPLES = 200;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

const server = await startSystemPostgres({ ports: [44550, 44559], maxConnections: 400 });
const pool = new pg.Pool({ connectionString: server.url, max: 4 });
const cluster = fleetCluster(server.url, {
  FLEET_TEST_STANDIN_STEP_MS: '0',
  LOG_LEVEL: 'warn',
  FLEET_RATE_LIMIT_PER_MINUTE: '1000000',
  FLEET_MAX_STREAMS_PER_USER: '10',
});
try {
  await cluster.migrate();
  const apis = [await cluster.startApi({ LOG_LEVEL: 'info' }), await cluster.startApi({ LOG_LEVEL: 'info' })];
  const tokens = Array.from({ length: TENANTS }, (_, i) => cluster.token(`user_scale_${i}`));

  const started = performance.now();
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < tokens.length) {
        const i = next++;
        const res = await fetch(`${apis[i % 2]!.url}/api/fleet/provision`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ templateId: 'solo-engineer' }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }),
  );
  const requestsSeconds = (performance.now() - started) / 1000;
  const refused = statuses.filter((s) => s !== 202).length;
  if (refused > 0) throw new Error(`${refused} provision requests were not accepted: ${[...new Set(statuses)].join(', ')}`);
  // The workers start once every run is queued, so what they do is measured apart from the intake.
  await Promise.all(Array.from({ length: WORKERS }, () => cluster.startWorker({ concurrency: CONCURRENCY, env: { LOG_LEVEL: 'info' } })));
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM provision_runs WHERE status = 'complete'`);
    if (rows[0]!.n >= TENANTS) break;
    if (performance.now() - started > 600_000) throw new Error(`only ${rows[0]!.n} of ${TENANTS} runs completed in 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Each worker's runs over its own busy window: from its first claim to its last completion.
  const { rows: perWorker } = await pool.query<{ worker: string; runs: number; seconds: number }>(
    `SELECT worker, count(*)::int AS runs, extract(epoch FROM max(finished_at) - min(started_at))::float8 AS seconds
       FROM provision_runs GROUP BY worker ORDER BY worker`,
  );
  const { rows: drain } = await pool.query<{ seconds: number }>(
    `SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8 AS seconds FROM provision_runs`,
  );
  const seconds = drain[0]!.seconds;
  const { rows: latencies } = await pool.query<{ ms: number }>(
    `SELECT extract(epoch FROM finished_at - started_at)::float8 * 1000 AS ms FROM provision_runs`,
  );
  const ms = latencies.map((r) => r.ms);
  const { rows: notOnce } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT run_id, step FROM provision_log WHERE status = 'complete' GROUP BY run_id, step HAVING count(*) <> 1) x`,
  );

  // Baseline on the same server: pg-boss's own send → fetch → complete, one job at a time, and as
  // a burst of TENANTS jobs through as many pollers as the workers have slots.
  const boss = new PgBoss({ connectionString: server.url, schema: 'pgboss', supervise: false, schedule: false });
  await boss.start();
  await boss.createQueue('bench-raw', { name: 'bench-raw', policy: 'standard' });
  let resolveJob: (() => void) | undefined;
  const rawWorker = await boss.work('bench-raw', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async () => resolveJob?.());
  const raw: number[] = [];
  for (let i = 0; i < RAW_SAMPLES; i++) {
    const t0 = performance.now();
    const done = new Promise<void>((r) => (resolveJob = r));
    await boss.send('bench-raw', { i });
    boss.notifyWorker(rawWorker);
    await done;
    raw.push(performance.now() - t0);
  }
  await boss.offWork('bench-raw');
  await boss.createQueue('bench-burst', { name: 'bench-burst', policy: 'standard' });
  let handled = 0;
  let allHandled: () => void = () => {};
  const burstDone = new Promise<void>((r) => (allHandled = r));
  const burstStart = performance.now();
  await boss.insert(Array.from({ length: TENANTS }, (_, i) => ({ name: 'bench-burst', data: { i } })));
  for (let i = 0; i < WORKERS * CONCURRENCY; i++) {
    const id = await boss.work('bench-burst', { batchSize: 1, pollingIntervalSeconds: 0.5 }, async () => {
      if (++handled === TENANTS) allHandled();
      boss.notifyWorker(id);
    });
  }
  await burstDone;
  const rawBurstSeconds = (performance.now() - burstStart) / 1000;
  await boss.stop({ graceful: false, wait: true });

  console.log(
    `bench:scale — ${TENANTS} tenants, 2 API processes, ${WORKERS} worker processes × concurrency ${CONCURRENCY}, zero-latency stand-in steps`,
  );
  console.log(
    `  intake: ${TENANTS} provision requests accepted (202) through 2 API processes in ${requestsSeconds.toFixed(1)} s (${(TENANTS / requestsSeconds).toFixed(1)}/s, ${IN_FLIGHT} in flight); ` +
      `then the workers, started once every run was queued, completed them in ${seconds.toFixed(1)} s: ${(TENANTS / seconds).toFixed(1)} runs/s`,
  );
  for (const w of perWorker)
    console.log(`  worker ${w.worker}: ${w.runs} runs in ${w.seconds.toFixed(1)} s, ${(w.runs / w.seconds).toFixed(1)} runs/s`);
  console.log(
    `  claim → complete per run: p50 ${pct(ms, 50).toFixed(0)} ms, p99 ${pct(ms, 99).toFixed(0)} ms; steps completed other than once: ${notOnce[0]!.n}`,
  );
  console.log(
    `  raw pg-boss on the same server: send → fetch → complete ${pct(raw, 50).toFixed(1)} ms p50, ${pct(raw, 99).toFixed(1)} ms p99 (one at a time); ` +
      `${TENANTS} jobs through ${WORKERS * CONCURRENCY} pollers in ${rawBurstSeconds.toFixed(1)} s (${(TENANTS / rawBurstSeconds).toFixed(0)} jobs/s)`,
  );
  console.log(
    `  load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${os.availableParallelism()} cores`,
  );
} finally {
  await cluster.close();
  await pool.end();
  await server.stop();
}
