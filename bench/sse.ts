/**
 * `npm run bench:sse` — many live event streams on one API process: BENCH_SSE_CLIENTS (1,000)
 * SSE clients, each the admin of its own tenant, and one provision-log write per tenant per second
 * for BENCH_SSE_SECONDS (20). Three processes besides PostgreSQL, so no one's work hides in
 * another's figures:
 *  - the server: the production build (`npm run build`, then `node dist/cli/main.js serve`,
 *    FLEET_WORKERS=0) of this checkout, or of the checkout BENCH_SSE_SERVER_ROOT names (how a
 *    before/after pair is measured in one sitting);
 *  - the clients (bench/sse-clients.ts), reading every stream;
 *  - this process: the writer, straight into the database as a worker would, and a bare LISTEN
 *    connection, the floor every delivery stands on (write → NOTIFY heard), measured in the same run.
 * The writer says whether it kept one write per tenant per second; a write's clock starts when it
 * is handed to a free connection, so time spent queueing in the writer is not charged to the
 * server. Prints write → client latency next to the floor, the server's RSS (idle, with every
 * stream open, peak), and CPU per delivered event for the server, PostgreSQL and the clients.
 * Goals: p99 ≤ 50 ms, RSS ≤ 250 MB.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ensureDevKeys, mintSessionToken } from '../src/auth/dev-issuer.ts';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import { attachEmbeddedPostgres } from '../src/db/embedded.ts';
import { EVENTS_CHANNEL } from '../src/db/events.ts';
import { appendLog, appendLogAsOwner, type LogEntry } from '../src/db/provision-log.ts';
import { insertRun } from '../src/db/runs.ts';
import { insertTenantWithFleet } from '../src/db/tenants.ts';
import { TemplateRegistry } from '../src/templates/registry.ts';
import { cpuSeconds, postgresCpu, postmasterPid, rssMb } from './proc-stats.ts';

const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
const SECONDS = Number(process.env.BENCH_SSE_SECONDS ?? 20);
const SERVER_ROOT = path.resolve(process.env.BENCH_SSE_SERVER_ROOT ?? '.');
// `relaxed`: the entries are a worker's progress lines (appendLogAsOwner: the run's owner, committed
// without waiting for the WAL flush), which is what a run writes most. `sync`: each waits for its
// flush, which on this machine's disk caps the writer near 500 commits/s whatever the server does.
const COMMIT = process.env.BENCH_SSE_COMMIT === 'sync' ? 'sync' : 'relaxed';
const WRITER = 'bench-writer';
// Enough connections that 1,000 synchronous commits a second do not queue behind each other.
const WRITER_CONNECTIONS = 64;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clock = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

// --- the server: the production build, alone in its process ----------------------------------
const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: SERVER_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
if (built.status !== 0) throw new Error(`npm run build failed in ${SERVER_ROOT}`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-sse-'));
fs.chmodSync(dir, 0o755); // the embedded PostgreSQL's user must reach its dir when we are root
const dataDir = path.join(dir, 'data');
const logFile = path.join(dir, 'server.log');
const server = spawn(process.execPath, ['dist/cli/main.js', 'serve'], {
  cwd: SERVER_ROOT,
  env: {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    FLEET_DATA_DIR: dataDir,
    FLEET_WORKERS: '0',
    FLEET_RATE_LIMIT_PER_MINUTE: '1000000',
  },
  stdio: ['ignore', fs.openSync(logFile, 'a'), 'pipe'],
});
const url = await new Promise<string>((resolve, reject) => {
  let err = '';
  server.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    fs.appendFileSync(logFile, d);
    const m = /Agent Fleet \(dev sign-in\) at (\S+)/.exec(err);
    if (m) resolve(m[1]!);
  });
  server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening; see ${logFile}`)));
  setTimeout(() => reject(new Error(`the server did not listen within 60 s; see ${logFile}`)), 60_000).unref();
});
const serverPid = server.pid!;
await sleep(2000);
const bootRss = rssMb(serverPid);

let clients: ChildProcess | undefined;
const attached = attachEmbeddedPostgres(dataDir);
if (!attached) throw new Error('could not attach to the server’s database');
// Named, and never closed while idle, so their backends' CPU can be told from the server's.
const writerPool = new pg.Pool({
  connectionString: attached.url,
  max: WRITER_CONNECTIONS,
  idleTimeoutMillis: 0,
  application_name: 'bench-writer',
});
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: writerPool }) });
const floor = new pg.Client({ connectionString: attached.url, application_name: 'bench-floor' });
/** CPU seconds of this benchmark's own backends (the writer's and the floor's), by pid. */
const benchBackendsCpu = async (): Promise<Map<number, number>> => {
  const { rows } = await floor.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'bench-%'`);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      cpu.set(pid, cpuSeconds(pid));
    } catch {
      // gone meanwhile
    }
  }
  return cpu;
};
try {
  // --- tenants, straight into the database ---------------------------------------------------
  const template = TemplateRegistry.load().get('solo-engineer')!;
  const keys = ensureDevKeys(dataDir);
  const tenants: Array<{ tenantId: string; fleetId: string; runId: string; token: string }> = [];
  for (let i = 0; i < CLIENTS; i += 20) {
    const batch = Array.from({ length: Math.min(20, CLIENTS - i) }, async (_, k) => {
      const n = i + k;
      const tenant = await insertTenantWithFleet(
        db,
        { slug: `sse_${n}`, name: `S${n}`, plan: 'free', clerkOrgId: `org_sse${n}`, clerkUserId: null },
        template,
        { actor: 'bench', detail: {} },
      );
      const fleet = await db.selectFrom('fleets').select('id').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
      const run = await insertRun(db, fleet.id, 'provision');
      // Held by the writer, as a worker holds the run it logs for (no worker runs here to claim it).
      await db.updateTable('provision_runs').set({ status: 'running', worker: WRITER }).where('id', '=', run.id).execute();
      const token = mintSessionToken(keys.privateKeyPem, {
        userId: `user_sse${n}`,
        orgId: `org_sse${n}`,
        orgRole: 'admin',
        ttlSeconds: 3600,
      });
      tenants[n] = { tenantId: tenant.id, fleetId: fleet.id, runId: run.id, token };
    });
    await Promise.all(batch);
  }

  // --- the clients, in their own process -------------------------------------------------------
  const replies: Array<Record<string, unknown>> = [];
  const reply = async (type: string) => {
    for (;;) {
      const i = replies.findIndex((r) => r.type === type);
      if (i >= 0) return replies.splice(i, 1)[0]!;
      if (clients?.exitCode !== null) throw new Error('the clients process exited');
      await sleep(20);
    }
  };
  clients = fork('bin/run-ts.js', ['bench/sse-clients.ts'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  clients.on('message', (m) => replies.push(m as Record<string, unknown>));
  await reply('ready');
  clients.send({ type: 'open', url, tokens: tenants.map((t) => t.token) });
  await reply('opened');
  await sleep(2000); // every snapshot read, the server settled
  const streamsRss = rssMb(serverPid);

  // --- the floor: a bare LISTEN connection hears each write's NOTIFY ---------------------------
  const pendingByTenant = new Map<string, number[]>();
  const floorLatencies: number[] = [];
  await floor.connect();
  floor.on('notification', (msg) => {
    const now = clock();
    const tenantId = (msg.payload ?? '').split(':')[0]!;
    const t0 = pendingByTenant.get(tenantId)?.shift();
    if (t0 !== undefined) floorLatencies.push(now - t0);
  });
  await floor.query(`LISTEN ${EVENTS_CHANNEL}`);

  // --- the writes: each tenant once a second, spread evenly over the second --------------------
  const postmaster = postmasterPid(dataDir);
  if (postmaster === undefined) throw new Error('the server’s PostgreSQL is not running');
  const load0 = os.loadavg()[0]!;
  const cpu0 = {
    api: cpuSeconds(serverPid),
    pg: postgresCpu(postmaster),
    clients: cpuSeconds(clients.pid!),
    bench: await benchBackendsCpu(),
  };
  let peakRss = streamsRss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMb(serverPid))), 100);
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((CLIENTS * tickMs) / 1000));
  const started = performance.now();
  const commitLatencies: number[] = [];
  let written = 0;
  let writtenInWindow = 0;
  let failed = 0;
  let next = 0;
  let inFlight = 0;
  const lags: number[] = []; // how late each write left the writer (its tick's time → sent)
  const backlog: Array<{ n: number; due: number }> = []; // writes due but waiting for a free writer connection
  const dispatch = () => {
    while (inFlight < WRITER_CONNECTIONS && backlog.length > 0) {
      const { n, due } = backlog.shift()!;
      lags.push(performance.now() - due);
      const i = n % CLIENTS;
      const t = tenants[i]!;
      const t0 = clock();
      const queue = pendingByTenant.get(t.tenantId) ?? [];
      queue.push(t0);
      pendingByTenant.set(t.tenantId, queue);
      inFlight++;
      const entry: LogEntry = {
        fleetId: t.fleetId,
        tenantId: t.tenantId,
        runId: t.runId,
        step: 'complete',
        status: 'running',
        message: `sse-${i}-${Math.floor(n / CLIENTS)}-${t0.toFixed(3)}`,
        durationMs: null,
      };
      const write = COMMIT === 'sync' ? appendLog(db, entry).then(() => true) : appendLogAsOwner(db, entry, WRITER);
      write
        .then((ok) => {
          if (!ok) throw new Error('the writer no longer owns the run');
          if (performance.now() - started <= SECONDS * 1000) writtenInWindow++;
          written++;
          commitLatencies.push(clock() - t0);
        })
        .catch(() => failed++)
        .finally(() => {
          inFlight--;
          dispatch();
        });
    }
  };
  const writerCpu0 = process.cpuUsage();
  for (let tick = 0; performance.now() - started < SECONDS * 1000; tick++) {
    for (let k = 0; k < perTick; k++) backlog.push({ n: next++, due: started + tick * tickMs });
    dispatch();
    const due = started + (tick + 1) * tickMs;
    await sleep(Math.max(0, due - performance.now()));
  }
  const writeSeconds = (performance.now() - started) / 1000;
  while (backlog.length > 0 || inFlight > 0) await sleep(5);
  await sleep(2000); // the last deliveries
  clearInterval(rssTimer);
  const writerCpu = process.cpuUsage(writerCpu0);
  let benchPg = 0;
  for (const [pid, seconds] of await benchBackendsCpu()) benchPg += seconds - (cpu0.bench.get(pid) ?? 0);
  const cpu = {
    writer: (writerCpu.user + writerCpu.system) / 1e6,
    api: cpuSeconds(serverPid) - cpu0.api,
    pg: postgresCpu(postmaster) - cpu0.pg,
    clients: cpuSeconds(clients.pid!) - cpu0.clients,
  };
  const seconds = (performance.now() - started) / 1000;
  clients.send({ type: 'report' });
  const r = (await reply('report')) as {
    latencies: number[];
    delivered: number;
    duplicates: number;
    streamErrors: number;
    endedEarly: number;
  };

  const rate = writtenInWindow / writeSeconds;
  // Kept up: the promised rate, and 99 % of the writes left within two ticks of their time.
  const keptUp = rate >= 0.97 * CLIENTS && pct(lags, 99) <= 2 * tickMs;
  const perEvent = (s: number) => `${((s * 1000) / Math.max(1, r.delivered)).toFixed(3)} ms`;
  const share = (s: number) => `${((s / seconds) * 100).toFixed(0)} %`;
  console.log(
    `\n${CLIENTS} SSE clients on ${CLIENTS} tenants, one API process (${SERVER_ROOT}, node dist/cli/main.js serve), ${SECONDS} s`,
  );
  // Other work on the machine shows in every figure below: say how busy it was.
  console.log(
    `  machine: ${os.cpus().length} cores, load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end`,
  );
  console.log(
    `  writer (${COMMIT} commits): ${written} writes, ${rate.toFixed(0)}/s of ${CLIENTS}/s while the clock ran, ${failed} failed, ` +
      `late leaving the writer p99 ${ms(pct(lags, 99))} max ${ms(pct(lags, 100))}, writer CPU ${share(cpu.writer)}: ` +
      (keptUp ? 'kept up' : 'DID NOT KEEP UP: fewer events than the benchmark promises'),
  );
  console.log(`  commit (write sent → committed):  median ${ms(pct(commitLatencies, 50))}   p99 ${ms(pct(commitLatencies, 99))}`);
  console.log(
    `  floor (write sent → NOTIFY heard on a bare LISTEN connection):  median ${ms(pct(floorLatencies, 50))}   p99 ${ms(pct(floorLatencies, 99))}`,
  );
  console.log(
    `  write → client:  median ${ms(pct(r.latencies, 50))}   p99 ${ms(pct(r.latencies, 99))}   max ${ms(pct(r.latencies, 100))}   (goal p99 ≤ 50 ms)`,
  );
  console.log(
    `  delivered ${r.delivered} of ${written}, duplicates ${r.duplicates}, stream errors ${r.streamErrors}, streams ended early ${r.endedEarly}`,
  );
  console.log(
    `  server RSS: ${bootRss.toFixed(0)} MB idle, ${streamsRss.toFixed(0)} MB with ${CLIENTS} streams open ` +
      `(${(((streamsRss - bootRss) * 1024) / CLIENTS).toFixed(0)} KB a stream), peak ${peakRss.toFixed(0)} MB   (goal ≤ 250 MB)`,
  );
  console.log(
    `  CPU per delivered event: server ${perEvent(cpu.api)} (${share(cpu.api)} of a core), clients ${perEvent(cpu.clients)} (${share(cpu.clients)}), ` +
      `PostgreSQL ${perEvent(cpu.pg)} (${share(cpu.pg)}: the writer's and floor's backends ${perEvent(benchPg)}, ` +
      `the rest — the server's reads, NOTIFY, background — ${perEvent(cpu.pg - benchPg)})\n`,
  );
} finally {
  clients?.send({ type: 'close' });
  await floor.end().catch(() => {});
  await db.destroy();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
}
