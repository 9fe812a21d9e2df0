/**
 * `npm run soak` — ten minutes (by default) of mixed traffic against one `fleet serve` on loopback,
 * started as its own process (bench/soak-server.ts: real HTTP, embedded PostgreSQL, queue and
 * workers, stand-in steps): reads, platform calls, live event streams held and dropped,
 * provisions and retries of new tenants, and bad requests of every kind. Prints the error and 5xx
 * counts, latency percentiles and the server's RSS at start and end. Goal: zero 5xx, RSS growth
 * under 10 % from the start (after a warm-up) to the end.
 *
 *   npm run soak -- --seconds 150      (or SOAK_SECONDS; also --rps, --streams, --seed)
 *
 * Not part of CI or `npm test`: it runs for minutes and measures rather than asserts (it exits 1
 * when the goal is missed, so a person can script it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { ensureDevKeys, mintSessionToken } from '../src/auth/dev-issuer.ts';
import { answerProblems } from '../test/fuzz/answer-checks.ts';
import { BAD_REQUESTS, type SoakRequest } from './soak-requests.ts';
import { startSoakServer } from './soak-server-process.ts';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string' }, rps: { type: 'string' }, streams: { type: 'string' }, seed: { type: 'string' } },
});
const SECONDS = Number(args.seconds ?? process.env.SOAK_SECONDS ?? 600);
const RPS = Number(args.rps ?? process.env.SOAK_RPS ?? 150);
const STREAMS = Number(args.streams ?? process.env.SOAK_STREAMS ?? 20);
const SEED = Number(args.seed ?? process.env.SOAK_SEED ?? 42);
const CLIENTS = 8;
const WARMUP_MS = Math.min(30_000, SECONDS * 100);
const PLATFORM_TOKEN = 'fpt_soak_platform_token_0123456789abcdef';

/** mulberry32: a small seeded PRNG, so two soaks with one seed send the same mix. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- the server ------------------------------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-soak-'));
// The embedded PostgreSQL runs as an unprivileged user when we are root: it must reach its dir.
fs.chmodSync(dir, 0o755);
const dataDir = path.join(dir, 'data');
const { child, url, logFile } = await startSoakServer({
  dir,
  dataDir,
  nodeArgs: ['--expose-gc'],
  env: {
    FLEET_WORKERS: '2',
    FLEET_PLATFORM_TOKEN: PLATFORM_TOKEN,
    // The soak is many users on one machine: the per-user limits are tested elsewhere.
    FLEET_RATE_LIMIT_PER_MINUTE: '1000000',
    FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: '1000000',
  },
});
/** The server's memory after a full garbage collection (it answers SIGUSR2 with a `mem {…}` line). */
let memLines = '';
child.stdout!.on('data', (d: Buffer) => {
  memLines += d.toString();
});
async function memoryAfterGc(): Promise<{ rss: number; heapUsed: number; external: number }> {
  const seen = (memLines.match(/^mem /gm) ?? []).length;
  child.kill('SIGUSR2');
  for (let i = 0; i < 100 && (memLines.match(/^mem /gm) ?? []).length === seen; i++) await sleep(50);
  const last = memLines
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('mem '))
    .at(-1);
  const m = JSON.parse(last?.slice(4) ?? '{}') as { rss: number; heapUsed: number; external: number };
  return { rss: m.rss / 2 ** 20, heapUsed: m.heapUsed / 2 ** 20, external: m.external / 2 ** 20 };
}
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const bootRss = rssMb();

const devKey = ensureDevKeys(dataDir).privateKeyPem;
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const token = (userId: string, orgId?: string) => mintSessionToken(devKey, { userId, orgId, orgRole: 'admin', ttlSeconds: 3600 });
const readers = Array.from({ length: 40 }, (_, i) => token(`user_reader${i}`, i % 2 ? `org_reader${i}` : undefined));

// --- what is counted -------------------------------------------------------------------------
const statuses: Record<number, number> = {};
const latencies: number[] = [];
const firstEventMs: number[] = [];
const problems = new Map<string, number>();
let requests = 0;
let fiveXx = 0;
let errors = 0;
let resets = 0;
let streamsOpened = 0;
let streamEvents = 0;
const provisioned: Array<{ token: string }> = [];
const platformTenants: string[] = [];

function problem(what: string): void {
  errors++;
  problems.set(what, (problems.get(what) ?? 0) + 1);
}

/** Sends one request, checks its answer against what it expects and the envelope rules, counts it. */
async function send(r: SoakRequest): Promise<Response | undefined> {
  const started = performance.now();
  try {
    const res = await fetch(`${url}${r.path}`, { method: r.method, headers: r.headers, body: r.body });
    const text = await res.text();
    latencies.push(performance.now() - started);
    requests++;
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status >= 500) fiveXx++;
    if (!r.expect.includes(res.status)) problem(`${r.name}: ${res.status}, expected ${r.expect.join('|')}`);
    for (const p of answerProblems({ status: res.status, headers: res.headers, text }, `${r.path}\n${r.body ?? ''}`))
      problem(`${r.name}: ${p}`);
    return new Response(text, { status: res.status, headers: res.headers });
  } catch (e) {
    requests++;
    const cause = (e as Error & { cause?: { code?: string; message?: string } }).cause;
    if (r.mayReset && (cause?.code === 'EPIPE' || cause?.code === 'ECONNRESET' || cause?.code === 'UND_ERR_SOCKET')) {
      resets++;
      return undefined;
    }
    problem(`${r.name}: ${(e as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
    return undefined;
  }
}

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const platform = { 'x-platform-token': PLATFORM_TOKEN };

/** One request of the steady mix. */
function nextRequest(): SoakRequest {
  const roll = random();
  if (roll < 0.5) {
    const who = provisioned.length > 0 && random() < 0.5 ? pick(provisioned).token : pick(readers);
    return { name: 'read fleet', method: 'GET', path: '/api/fleet', headers: bearer(who), expect: [200] };
  }
  if (roll < 0.55) return { name: 'templates', method: 'GET', path: '/api/templates', headers: bearer(pick(readers)), expect: [200] };
  if (roll < 0.58) return { name: 'health', method: 'GET', path: pick(['/healthz', '/readyz']), expect: [200] };
  if (roll < 0.59) return { name: 'metrics', method: 'GET', path: '/metrics', expect: [200] };
  if (roll < 0.65)
    return {
      name: 'platform list',
      method: 'GET',
      path: `/api/tenants?limit=${1 + Math.floor(random() * 50)}`,
      headers: platform,
      expect: [200],
    };
  if (roll < 0.72 && platformTenants.length > 0)
    return { name: 'platform get', method: 'GET', path: `/api/tenants/${pick(platformTenants)}`, headers: platform, expect: [200] };
  if (roll < 0.78 && provisioned.length > 0)
    return { name: 'retry', method: 'POST', path: '/api/fleet/retry', headers: bearer(pick(provisioned).token), expect: [202, 409, 429] };
  const bad = pick(BAD_REQUESTS);
  return bad({
    readerToken: pick(readers),
    otherKeyToken: mintSessionToken(otherKey, { userId: 'user_reader0' }),
    platformToken: PLATFORM_TOKEN,
  });
}

async function client(deadline: number): Promise<void> {
  const gapMs = (1000 * CLIENTS) / RPS;
  while (Date.now() < deadline) {
    const started = Date.now();
    await send(nextRequest());
    await sleep(Math.max(0, gapMs - (Date.now() - started)));
  }
}

/** New tenants, one a second: half made by a session's first provision, half by the platform. */
async function provisioner(deadline: number): Promise<void> {
  for (let n = 0; Date.now() < deadline; n++) {
    const started = Date.now();
    if (n % 2 === 0) {
      const t = token(`user_soak${n}`, `org_soak${n}`);
      const res = await send({
        name: 'provision',
        method: 'POST',
        path: '/api/fleet/provision',
        headers: { ...bearer(t), ...json({}).headers },
        body: json({ templateId: 'solo-engineer', repos: [`soak/repo${n}`] }).body,
        expect: [202],
      });
      if (res?.status === 202) provisioned.push({ token: t });
    } else {
      const slug = `soak_p${n}`;
      const created = await send({
        name: 'platform create',
        method: 'POST',
        path: '/api/tenants',
        headers: { ...platform, ...json({}).headers },
        body: json({ tenantId: slug, name: `Soak ${n}`, clerkOrgId: `org_soakp${n}`, templateId: 'solo-engineer' }).body,
        expect: [201],
      });
      if (created?.status === 201) {
        platformTenants.push(slug);
        await send({
          name: 'platform provision',
          method: 'POST',
          path: `/api/tenants/${slug}/provision`,
          headers: platform,
          expect: [202],
        });
      }
    }
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
}

/** Holds an event stream for a few seconds, then drops it and opens another, until the deadline. */
async function streamer(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const who = provisioned.length > 0 && random() < 0.6 ? pick(provisioned).token : pick(readers);
    const holdMs = 2000 + random() * 6000;
    const abort = new AbortController();
    const started = performance.now();
    try {
      const res = await fetch(`${url}/api/fleet/events`, { headers: bearer(who), signal: abort.signal });
      streamsOpened++;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.status >= 500) fiveXx++;
      // Several streamers may share a reader: more than FLEET_MAX_STREAMS_PER_USER is a fair 429.
      if (res.status !== 200 && res.status !== 429) problem(`event stream: ${res.status}`);
      if (res.status === 200 && res.body) {
        const reader = res.body.getReader();
        const stop = setTimeout(() => abort.abort(), Math.min(holdMs, deadline - Date.now()));
        let first = true;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (first) firstEventMs.push(performance.now() - started);
            first = false;
            streamEvents += (new TextDecoder().decode(value).match(/^event:/gm) ?? []).length;
          }
        } catch (e) {
          if ((e as Error).name !== 'AbortError') problem(`event stream read: ${(e as Error).message}`);
        } finally {
          clearTimeout(stop);
        }
      } else await res.text();
    } catch (e) {
      if ((e as Error).name !== 'AbortError') problem(`event stream: ${(e as Error).message}`);
    }
  }
}

// --- run -------------------------------------------------------------------------------------
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
console.log(
  `soak: ${SECONDS} s against ${url} (pid ${child.pid}), ~${RPS} req/s from ${CLIENTS} clients, ${STREAMS} streams, seed ${SEED}`,
);
const startedAt = Date.now();
const deadline = startedAt + SECONDS * 1000;
const rssSamples: Array<[number, number]> = [];
const sampler = setInterval(() => {
  const at = Math.round((Date.now() - startedAt) / 1000);
  rssSamples.push([at, rssMb()]);
  if (at % 10 === 0) console.log(`  ${at} s: ${requests} requests, ${fiveXx} 5xx, ${errors} errors, RSS ${rssMb().toFixed(1)} MB`);
}, 5_000);
let gcStart: Awaited<ReturnType<typeof memoryAfterGc>> | undefined;
setTimeout(async () => {
  gcStart = await memoryAfterGc();
}, WARMUP_MS).unref();
await Promise.all([
  ...Array.from({ length: CLIENTS }, () => client(deadline)),
  ...Array.from({ length: STREAMS }, () => streamer(deadline)),
  provisioner(deadline),
]);
clearInterval(sampler);
const lastRss = rssMb();
// The last requests are done: what the server still holds is what it keeps.
const gcEnd = await memoryAfterGc();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
const serverErrors = fs
  .readFileSync(logFile, 'utf8')
  .split('\n')
  .filter((l) => /"level":(50|60)/.test(l)).length;
fs.rmSync(dir, { recursive: true, force: true });

// RSS swings by tens of MB with the garbage collector and the 1 MB bodies: start and end are the
// medians of the first and the last quarter of the samples after the warm-up, not single points.
const measured = rssSamples.filter(([at]) => at * 1000 >= WARMUP_MS).map(([, mb]) => mb);
const quarter = Math.max(1, Math.floor(measured.length / 4));
const startRss = measured.length > 0 ? pct(measured.slice(0, quarter), 50) : bootRss;
const endRss = measured.length > 0 ? pct(measured.slice(-quarter), 50) : lastRss;
const growth = ((endRss - startRss) / startRss) * 100;
console.log('\nsoak results');
console.log(`  requests          ${requests} (${(requests / SECONDS).toFixed(0)}/s), statuses ${JSON.stringify(statuses)}`);
console.log(`  errors            ${errors}${problems.size ? `: ${JSON.stringify(Object.fromEntries([...problems].slice(0, 10)))}` : ''}`);
console.log(`  5xx               ${fiveXx}; error lines in the server log: ${serverErrors}`);
console.log(`  resets            ${resets} (too-large uploads the server closed on before the client finished sending)`);
console.log(
  `  latency           p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`,
);
console.log(`  event streams     ${streamsOpened} opened, ${streamEvents} events, first event p99 ${pct(firstEventMs, 99).toFixed(1)} ms`);
console.log(`  tenants made      ${provisioned.length + platformTenants.length}`);
console.log(
  `  RSS               boot ${bootRss.toFixed(1)} MB; start ${startRss.toFixed(1)} MB, end ${endRss.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %; medians of the first and last quarter after a ${WARMUP_MS / 1000} s warm-up); last ${lastRss.toFixed(1)} MB`,
);
const mb = (m: typeof gcEnd | undefined) =>
  m ? `RSS ${m.rss.toFixed(1)} MB, heap ${m.heapUsed.toFixed(1)} MB, external ${m.external.toFixed(1)} MB` : 'n/a';
const gcGrowth = gcStart ? ((gcEnd.rss - gcStart.rss) / gcStart.rss) * 100 : Number.NaN;
console.log(`  after a full GC   start ${mb(gcStart)}; end ${mb(gcEnd)} (RSS ${gcGrowth >= 0 ? '+' : ''}${gcGrowth.toFixed(1)} %)`);
console.log(`  RSS samples       ${rssSamples.map(([s, mb]) => `${s}s:${mb.toFixed(0)}`).join(' ')}`);
// The goal is judged on RSS after a full collection: the sampled RSS above shows the collector too.
const met = fiveXx === 0 && gcGrowth < 10;
console.log(`  goal (0 5xx, RSS after GC growing < 10 %): ${met ? 'met' : 'MISSED'}`);
process.exit(met ? 0 : 1);
