/**
 * `npm run bench:sse` — many live event streams on one API process: BENCH_SSE_CLIENTS (1,000)
 * SSE clients, each the admin of its own tenant, and one provision-log write per tenant per second
 * for BENCH_SSE_SECONDS (20). The server is `fleet serve` without workers in its own process
 * (bench/soak-server.ts), so its memory and CPU are its own; the writes go straight to the
 * database, as a worker's would. Prints write → client latency (from just before the write is
 * sent to the client reading the event, so the commit is included), the server's peak RSS, and
 * CPU per delivered event for the API process and for PostgreSQL. Goals: p99 ≤ 50 ms, RSS ≤ 250 MB.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevKeys, mintSessionToken } from '../src/auth/dev-issuer.ts';
import { createDb } from '../src/db/connection.ts';
import { attachEmbeddedPostgres } from '../src/db/embedded.ts';
import { appendLog } from '../src/db/provision-log.ts';
import { insertRun } from '../src/db/runs.ts';
import { insertTenantWithFleet } from '../src/db/tenants.ts';
import { TemplateRegistry } from '../src/templates/registry.ts';
import { startSoakServer } from './soak-server-process.ts';

const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 1000);
const SECONDS = Number(process.env.BENCH_SSE_SECONDS ?? 20);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

// --- the server, alone in its process --------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-sse-'));
fs.chmodSync(dir, 0o755); // the embedded PostgreSQL's user must reach its dir when we are root
const dataDir = path.join(dir, 'data');
const { child, url, logFile } = await startSoakServer({
  dir,
  dataDir,
  env: { FLEET_WORKERS: '0', FLEET_RATE_LIMIT_PER_MINUTE: '1000000' },
});

/** CPU seconds of a process (user + system), from /proc. */
const cpuSeconds = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
/** The PostgreSQL server and its backends: the postmaster named in postmaster.pid, and its children. */
function postgresPids(): number[] {
  const pidFile = fs.readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('postmaster.pid'));
  if (!pidFile) return [];
  const postmaster = Number(fs.readFileSync(path.join(dataDir, pidFile), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
const postgresCpu = (pids: number[]) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);

const bootRss = rssMb(child.pid!);

// --- tenants, straight into the database -----------------------------------------------------
const attached = attachEmbeddedPostgres(dataDir);
if (!attached) throw new Error('could not attach to the server’s database');
// Enough connections that 1,000 synchronous commits a second do not queue behind each other.
const { db } = createDb(attached.url, { max: 40 });
const template = TemplateRegistry.load().get('solo-engineer')!;
const tenants: Array<{ tenantId: string; fleetId: string; runId: string; token: string }> = [];
const keys = ensureDevKeys(dataDir);
try {
  for (let i = 0; i < CLIENTS; i++) {
    const tenant = await insertTenantWithFleet(
      db,
      { slug: `sse_${i}`, name: `S${i}`, plan: 'free', clerkOrgId: `org_sse${i}`, clerkUserId: null },
      template,
      { actor: 'bench', detail: {} },
    );
    const fleet = await db.selectFrom('fleets').select('id').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
    // A finished run for the entries to belong to (a queued one would wait for a worker).
    const run = await insertRun(db, fleet.id, 'provision');
    await db.updateTable('provision_runs').set({ status: 'complete' }).where('id', '=', run.id).execute();
    const token = mintSessionToken(keys.privateKeyPem, {
      userId: `user_sse${i}`,
      orgId: `org_sse${i}`,
      orgRole: 'admin',
      ttlSeconds: 3600,
    });
    tenants.push({ tenantId: tenant.id, fleetId: fleet.id, runId: run.id, token });
  }

  // --- the clients ---------------------------------------------------------------------------
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let delivered = 0;
  let opened = 0;
  const controller = new AbortController();
  const streams = tenants.map(async (t, i) => {
    const res = await fetch(`${url}/api/fleet/events`, { headers: { authorization: `Bearer ${t.token}` }, signal: controller.signal });
    if (res.status !== 200) throw new Error(`stream ${i}: ${res.status} ${await res.text()}`);
    opened++;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        const now = performance.now();
        buffer += decoder.decode(value, { stream: true });
        for (const m of buffer.matchAll(/"message":"(sse-\d+-\d+)"/g)) {
          const t0 = sentAt.get(m[1]!);
          if (t0 === undefined) continue;
          latencies.push(now - t0);
          sentAt.delete(m[1]!);
          delivered++;
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 1);
      }
    } catch {
      // aborted at the end
    }
  });
  while (opened < CLIENTS) {
    await sleep(50);
    if (opened === 0 && child.exitCode !== null) throw new Error(`the server exited; see ${logFile}`);
  }
  await sleep(1000); // every snapshot read

  // --- the writes: each tenant once a second, spread evenly over the second -------------------
  const pgPids = postgresPids();
  const cpu0 = { api: cpuSeconds(child.pid!), pg: postgresCpu(pgPids) };
  let peakRss = rssMb(child.pid!);
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((CLIENTS * tickMs) / 1000));
  const started = performance.now();
  let written = 0;
  let next = 0;
  const inFlight = new Set<Promise<void>>();
  for (let tick = 0; performance.now() - started < SECONDS * 1000; tick++) {
    for (let k = 0; k < perTick; k++) {
      const t = tenants[next % CLIENTS]!;
      const key = `sse-${next % CLIENTS}-${Math.floor(next / CLIENTS)}`;
      next++;
      sentAt.set(key, performance.now());
      const p = appendLog(db, {
        fleetId: t.fleetId,
        tenantId: t.tenantId,
        runId: t.runId,
        step: 'complete',
        status: 'running',
        message: key,
        durationMs: null,
      }).then(() => {
        written++;
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    if (tick % 50 === 0) peakRss = Math.max(peakRss, rssMb(child.pid!));
    const due = started + (tick + 1) * tickMs;
    await sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(inFlight);
  for (let i = 0; i < 200 && sentAt.size > 0; i++) await sleep(25); // the last deliveries
  peakRss = Math.max(peakRss, rssMb(child.pid!));
  const cpu = { api: cpuSeconds(child.pid!) - cpu0.api, pg: postgresCpu(pgPids) - cpu0.pg };
  const seconds = (performance.now() - started) / 1000;

  console.log(`\n${CLIENTS} SSE clients on ${CLIENTS} tenants, one API process, one log write per tenant per second, ${SECONDS} s`);
  console.log(`  writes ${written} (${(written / seconds).toFixed(0)}/s), delivered ${delivered}, lost ${sentAt.size}`);
  console.log(
    `  write → client:  median ${pct(latencies, 50).toFixed(1)} ms   p99 ${pct(latencies, 99).toFixed(1)} ms   max ${pct(latencies, 100).toFixed(1)} ms   (goal p99 ≤ 50 ms)`,
  );
  console.log(`  server RSS peak: ${peakRss.toFixed(0)} MB, ${bootRss.toFixed(0)} MB before any client   (goal ≤ 250 MB)`);
  console.log(
    `  CPU per delivered event: API process ${((cpu.api * 1000) / Math.max(1, delivered)).toFixed(3)} ms, ` +
      `PostgreSQL ${((cpu.pg * 1000) / Math.max(1, delivered)).toFixed(3)} ms   ` +
      `(API ${((cpu.api / seconds) * 100).toFixed(0)} % of a core, PostgreSQL ${((cpu.pg / seconds) * 100).toFixed(0)} %)\n`,
  );
  controller.abort();
  await Promise.allSettled(streams);
} finally {
  await db.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dir, { recursive: true, force: true });
}
