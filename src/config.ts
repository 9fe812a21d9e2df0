import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plan, type PlanLimits, parsePlanLimits } from './domain/plans.ts';
import { isRunStep, RUN_STEPS } from './domain/steps.ts';
import type { OutboundPolicy } from './util/outbound-address.ts';
import { z } from 'zod';

/**
 * The whole environment, validated by one schema and parsed once at start. A bad value stops the
 * process with every problem listed (see `loadConfig`), never a silent default for a required value.
 */
const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);

const optionalNonEmpty = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s));

// Where `gcloud auth application-default login` leaves Application Default Credentials.
const GCLOUD_ADC_FILE = path.join(os.homedir(), '.config', 'gcloud', 'application_default_credentials.json');

const isStep = isRunStep;
const POOL_FAULT_POINTS = ['warm_claim', 'warm_machine'];
const FAULT_KINDS = ['throw', 'transient', 'hang', 'kill'];

/**
 * `$FLEET_RUNTIME_CACHE_DIR`, else `$XDG_CACHE_HOME/agent-fleet`, else `~/.cache/agent-fleet`; as
 * root, `/var/cache/agent-fleet` instead of root's home, which the fleets' own users cannot enter.
 */
function runtimeCacheDir(env: { FLEET_RUNTIME_CACHE_DIR?: string; XDG_CACHE_HOME?: string }): string {
  if (env.FLEET_RUNTIME_CACHE_DIR) return path.resolve(env.FLEET_RUNTIME_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'agent-fleet');
  if (RUNNING_AS_ROOT) return '/var/cache/agent-fleet';
  return path.join(os.homedir(), '.cache', 'agent-fleet');
}

const RUNNING_AS_ROOT = process.getuid?.() === 0;

/** Runs one process works on at once at most (FLEET_WORKERS, `fleet worker --concurrency`). */
export const MAX_WORKERS = 64;

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  FLEET_DATA_DIR: z.string().min(1).default('.fleet'),
  DATABASE_URL: optionalNonEmpty.pipe(z.url({ message: 'must be a postgres:// URL' }).optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CLERK_JWT_KEY: optionalNonEmpty,
  CLERK_PUBLISHABLE_KEY: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^pk_(live|test)_/, 'must start with pk_live_ or pk_test_')
      .optional(),
  ),
  CLERK_SECRET_KEY: optionalNonEmpty,
  CLERK_AUTHORIZED_PARTIES: optionalNonEmpty.pipe(csv.optional()),
  // The signing secret of the Clerk webhook endpoint (Clerk dashboard → Webhooks); unset: POST /api/webhooks/clerk is a 404 saying so.
  CLERK_WEBHOOK_SIGNING_SECRET: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+=*$/, "must be the endpoint's signing secret as Clerk shows it (whsec_…)")
      .optional(),
  ),
  FLEET_PLATFORM_TOKEN: optionalNonEmpty.pipe(z.string().min(24, 'must be at least 24 characters').optional()),
  FLEET_SECRETS_KEY: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^[0-9a-f]{64}$/i, 'must be 64 hex characters (32 bytes)')
      .optional(),
  ),
  FLEET_GIT_BASE_URL: z.url().default('https://github.com/'),
  FLEET_DISCORD_API_URL: z.url().default('https://discord.com/api/v10'),
  FLEET_RUNTIME_CACHE_DIR: optionalNonEmpty,
  FLEET_WORKERS: z.coerce.number().int().min(0).max(MAX_WORKERS).default(4),
  FLEET_HEARTBEAT_SECONDS: z.coerce.number().min(0.2).max(60).default(2),
  FLEET_STALE_AFTER_SECONDS: z.coerce.number().min(1).max(600).default(10),
  FLEET_CHECKPOINT_FLUSH_AFTER_MS: z.coerce.number().int().min(0).max(3_600_000).default(100),
  FLEET_STEP_TIMEOUTS: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^(\w+=\d+)(,\w+=\d+)*$/, 'must look like step=ms,step=ms')
      .transform((s) => Object.fromEntries(s.split(',').map((kv) => [kv.split('=')[0]!, Number(kv.split('=')[1])])))
      .superRefine((timeouts, ctx) => {
        for (const step of Object.keys(timeouts)) {
          if (!isStep(step)) ctx.addIssue({ code: 'custom', message: `unknown step '${step}'; steps: ${RUN_STEPS.join(', ')}` });
        }
      })
      .optional(),
  ),
  FLEET_TEST_FAULTS: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^(\w+:\w+)(,\w+:\w+)*$/, 'must look like step:kind,step:kind')
      .superRefine((s, ctx) => {
        for (const [step, kind] of s.split(',').map((p) => p.split(':'))) {
          // `warm_claim`: the moment right after vm_create's claim on a pooled gateway committed;
          // `warm_machine`: right after the pool recorded a machine it is about to make.
          if (!isStep(step!) && !POOL_FAULT_POINTS.includes(step!))
            ctx.addIssue({
              code: 'custom',
              message: `unknown step '${step}'; steps: ${[...RUN_STEPS, ...POOL_FAULT_POINTS].join(', ')}`,
            });
          if (!FAULT_KINDS.includes(kind!))
            ctx.addIssue({ code: 'custom', message: `unknown fault '${kind}'; faults: ${FAULT_KINDS.join(', ')}` });
        }
      })
      .optional(),
  ),
  // Test-only: a Node script run instead of the real gateway (test/gateway/standin-gateway.mjs).
  FLEET_GATEWAY_COMMAND: optionalNonEmpty,
  // Test-only: every provision step is a stand-in that waits this many ms (pipeline/steps/standin.ts).
  FLEET_TEST_STANDIN_STEP_MS: z.coerce.number().int().min(0).max(60_000).optional(),
  // Connections this process's query pool may open to PostgreSQL (pg-boss adds 4, the event listener 1).
  FLEET_DB_POOL_SIZE: z.coerce.number().int().min(2).max(500).default(20),
  // Parameterised statements go to PostgreSQL as prepared statements (db/prepared-statements.ts); false for poolers that cannot keep them.
  FLEET_DB_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true'),
  // Which host this process is: the local driver's machines are worked on only by workers of their host.
  FLEET_HOST_ID: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a host name: letters, digits, dots, dashes, underscores (at most 63)')
      .optional(),
  ),
  // Where the OpenClaw runtime is installed, default below (runtimeCacheDir).
  XDG_CACHE_HOME: optionalNonEmpty,
  FLEET_GATEWAY_OFFLINE: z.enum(['0', '1']).default('0'),
  // Started, empty gateways each worker process keeps ready on its host (the warm pool); 0: none.
  FLEET_WARM_POOL: z.coerce.number().int().min(0).max(32).default(0),
  // How long a claimed pooled gateway gets to show the tenant's agents before the cold start.
  FLEET_WARM_RELOAD_TIMEOUT_MS: z.coerce.number().int().min(500).max(600_000).default(20_000),
  // Larger request bodies are refused with 413 before anything reads them.
  // A client that sends its headers or its request this slowly is cut off (408), so a few slow
  // connections cannot hold the server's sockets.
  FLEET_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  FLEET_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  FLEET_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  // How long fleet events are kept for SSE replay (a client resuming from before gets a fresh snapshot).
  FLEET_EVENTS_RETENTION_HOURS: z.coerce
    .number()
    .min(1)
    .max(24 * 365)
    .default(24),
  // How the local driver keeps tenants apart: an OS user per fleet (root only, the default there) or one trust domain.
  FLEET_LOCAL_ISOLATION: z.enum(['users', 'shared']).default(RUNNING_AS_ROOT ? 'users' : 'shared'),
  // Where new fleets' machines are made. A fleet keeps the driver it was created with.
  FLEET_COMPUTE: z.enum(['local', 'gcp']).default('local'),
  FLEET_GCP_PROJECT: optionalNonEmpty.pipe(
    z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id')
      .optional(),
  ),
  FLEET_GCP_ZONES: z
    .string()
    .default('europe-west2-b')
    .pipe(csv)
    .pipe(z.array(z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, 'must be zones like europe-west2-b')).min(1, 'name at least one zone')),
  FLEET_GCP_MACHINE_TYPE: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('e2-standard-2'),
  FLEET_GCP_IMAGE: z.string().min(1).default('projects/debian-cloud/global/images/family/debian-12'),
  FLEET_GCP_NETWORK: z.string().min(1).default('global/networks/default'),
  FLEET_GCP_API_ENDPOINT: optionalNonEmpty.pipe(z.url({ protocol: /^https?$/ }).optional()),
  FLEET_GCP_ACCESS_TOKEN: optionalNonEmpty,
  GOOGLE_APPLICATION_CREDENTIALS: optionalNonEmpty,
  FLEET_SSH_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Linux user name')
    .default('fleet'),
  FLEET_SSH_PORT: z.coerce.number().int().min(1).max(65535).default(22),
  // The gateway's port on its own VM (the Control UI's, behind a firewall rule on the tags below).
  FLEET_GCP_GATEWAY_PORT: z.coerce.number().int().min(1024).max(65535).default(18789),
  FLEET_GCP_NETWORK_TAGS: z
    .string()
    .default('agent-fleet-gateway')
    .pipe(csv)
    .pipe(z.array(z.string().regex(/^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/, 'must be network tags like agent-fleet-gateway'))),
  // Test-only: tenant URLs (Mission Control) may point at loopback, where the tests' stand-ins listen.
  FLEET_TEST_ALLOW_LOOPBACK_URLS: z.enum(['0', '1']).default('0'),
  // Per-plan limits over the defaults of domain/plans.ts, e.g. `free.repos=3,pro.concurrentRuns=4`.
  FLEET_PLAN_LIMITS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const { limits, problems } = parsePlanLimits(s);
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return limits;
    }),
  // Concurrent GET /api/fleet/events streams one user may hold; the next one gets 429.
  FLEET_MAX_STREAMS_PER_USER: z.coerce.number().int().min(1).max(1000).default(10),
  // GET /api/fleet shows this many of a fleet's newest runs whole; older ones are summarised.
  FLEET_LOG_WHOLE_RUNS: z.coerce.number().int().min(1).max(1000).default(10),
  // Requests a minute per signed-in user and for the platform token (429 past them; per API process).
  FLEET_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(6000),
  // Requests a minute to POST /api/webhooks/clerk, all senders together (429 past it; Clerk retries later).
  FLEET_WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  // When set, GET /metrics wants `Authorization: Bearer <token>`.
  // `fleet worker` serves GET /metrics on this port (0: a free one, logged); unset: no listener.
  FLEET_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FLEET_METRICS_TOKEN: optionalNonEmpty.pipe(z.string().min(24, 'must be at least 24 characters').optional()),
  // The dashboard's built files (`npm run build:web`), served at `/`.
  FLEET_WEB_DIR: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../web/dist', import.meta.url))),
  // Outside production, the repo `agent-fleet/sample` is a local sample (made under the data dir), so a first fleet needs no internet.
  FLEET_SAMPLE_REPO: z.enum(['0', '1']).optional(),
  // The reconciler compares desired and observed state this often (a fifth of it while a fleet is changing).
  FLEET_RECONCILE_INTERVAL_SECONDS: z.coerce.number().min(0.2).max(3600).default(30),
  // Failed checks in a row before the reconciler moves a fleet to `error` (one failed probe is not enough).
  FLEET_RECONCILE_UNHEALTHY_CHECKS: z.coerce.number().int().min(1).max(100).default(3),
  // Fleets a reconciler pass looks at side by side (a real gateway's health check takes seconds).
  FLEET_RECONCILE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  // Machines labelled as ours that no fleet owns are reported; deleted only when this is true.
  FLEET_DELETE_ORPHANS: z.enum(['true', 'false']).default('false'),
});

/** Loopback only: what dev sign-in may listen on (its tokens are minted by anyone who can run `fleet dev token`). */
function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && /^(0*:)*:?0*1$/.test(host.replace(/^\[|\]$/g, ''));
}

/**
 * Rules across variables. Checked on the raw environment, apart from the schema, so they are
 * reported together with every per-variable problem instead of only once those are fixed.
 */
function crossCheck(source: NodeJS.ProcessEnv): string[] {
  const set = (name: string) => (source[name] ?? '').trim() !== '';
  const production = source.NODE_ENV === 'production';
  const problems: string[] = [];
  // CLERK_SECRET_KEY alone used to leave dev sign-in on without a word: any Clerk setting asks for all.
  const clerkSet = set('CLERK_JWT_KEY') || set('CLERK_PUBLISHABLE_KEY') || set('CLERK_SECRET_KEY');
  // Production never falls back to the dev issuer: a missing Clerk key there is an outage, not a
  // convenience.
  if (production || clerkSet) {
    for (const name of ['CLERK_JWT_KEY', 'CLERK_PUBLISHABLE_KEY']) {
      if (!set(name)) {
        problems.push(
          `${name}: ${production ? 'is required when NODE_ENV=production (dev sign-in is disabled in production)' : 'is required when any Clerk setting is given'}`,
        );
      }
    }
  }
  const host = (source.HOST ?? '').trim() || '127.0.0.1';
  if (!clerkSet && !production && !isLoopbackHost(host)) {
    // Dev sign-in trusts whoever holds the data dir's key; on a reachable address that is anyone who gets a token.
    problems.push(
      `HOST: dev sign-in (no Clerk settings) is served on loopback addresses only (127.0.0.1, ::1, localhost), not on ${host}. ` +
        'Set HOST=127.0.0.1, or give CLERK_JWT_KEY and CLERK_PUBLISHABLE_KEY to serve real Clerk sessions on this address.',
    );
  }
  if (source.FLEET_LOCAL_ISOLATION === 'users' && !RUNNING_AS_ROOT) {
    problems.push(
      'FLEET_LOCAL_ISOLATION: users needs the control plane to run as root (it creates an OS user per fleet); use shared, or run as root',
    );
  }
  if (source.FLEET_COMPUTE === 'gcp') {
    if (!set('FLEET_GCP_PROJECT')) problems.push('FLEET_GCP_PROJECT: is required when FLEET_COMPUTE=gcp');
    if (!set('FLEET_GCP_ACCESS_TOKEN') && !set('GOOGLE_APPLICATION_CREDENTIALS') && !fs.existsSync(GCLOUD_ADC_FILE)) {
      problems.push(
        'FLEET_GCP_ACCESS_TOKEN: FLEET_COMPUTE=gcp needs credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, ' +
          'or `gcloud auth application-default login`) or a bearer token in FLEET_GCP_ACCESS_TOKEN',
      );
    }
  }
  const gitProblem = gitBaseUrlProblem(source.FLEET_GIT_BASE_URL, production);
  if (gitProblem) problems.push(`FLEET_GIT_BASE_URL: ${gitProblem}`);
  if (production) {
    for (const name of ['FLEET_PLATFORM_TOKEN', 'FLEET_SECRETS_KEY']) {
      if (!set(name)) problems.push(`${name}: is required when NODE_ENV=production`);
    }
    // Without it a token's azp goes unchecked, and sessions of any app on the same Clerk instance are accepted.
    if (!set('CLERK_AUTHORIZED_PARTIES')) {
      problems.push('CLERK_AUTHORIZED_PARTIES: is required when NODE_ENV=production (the origins of your dashboard, comma-separated)');
    }
    if (set('FLEET_TEST_FAULTS')) problems.push('FLEET_TEST_FAULTS: fault injection is for tests and is refused in production');
    if (set('FLEET_GATEWAY_COMMAND'))
      problems.push('FLEET_GATEWAY_COMMAND: the stand-in gateway is for tests and is refused in production');
    if (set('FLEET_TEST_STANDIN_STEP_MS'))
      problems.push('FLEET_TEST_STANDIN_STEP_MS: stand-in steps are for tests and are refused in production');
    if (source.FLEET_TEST_ALLOW_LOOPBACK_URLS === '1')
      problems.push('FLEET_TEST_ALLOW_LOOPBACK_URLS: loopback tenant URLs are for tests and are refused in production');
    if (source.FLEET_SAMPLE_REPO === '1')
      problems.push('FLEET_SAMPLE_REPO: the local sample repository is for dev machines and is refused in production');
  }
  return problems;
}

/**
 * Where repos are cloned from: https; a file:// forge (bare repos on this disk) only outside
 * production. Anything else (http, ssh, git's `ext::`) is refused at start, not at the first clone.
 */
function gitBaseUrlProblem(raw: string | undefined, production: boolean): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined; // the default, https://github.com/
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined; // the schema reports it
  }
  if (url.protocol === 'https:' || (url.protocol === 'file:' && !production)) return undefined;
  return `must be an https:// URL${production ? '' : ' (or file:// outside production)'}; got ${url.protocol}//`;
}

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** The query pool's size per process (FLEET_DB_POOL_SIZE). */
  dbPoolSize: number;
  /** Statements prepared once per connection (FLEET_DB_PREPARED_STATEMENTS). */
  dbPreparedStatements: boolean;
  logLevel: Env['LOG_LEVEL'];
  /** Present when real Clerk settings are given; absent means dev sign-in. */
  clerk: { jwtKey: string; publishableKey: string; secretKey: string | undefined; authorizedParties: string[] | undefined } | undefined;
  platformToken: string | undefined;
  secretsKey: string | undefined;
  pipeline: {
    gitBaseUrl: string;
    discordApiUrl: string;
    runtimeCacheDir: string;
    /** How the local driver keeps tenants apart (FLEET_LOCAL_ISOLATION). */
    localIsolation: 'users' | 'shared';
    /** Test-only: a Node script that stands in for the gateway. */
    gatewayCommand: string | undefined;
    workers: number;
    heartbeatSeconds: number;
    staleAfterSeconds: number;
    /** A step that ran at least this long has its checkpoint's commit wait for the WAL flush (FLEET_CHECKPOINT_FLUSH_AFTER_MS). */
    checkpointFlushAfterMs: number;
    stepTimeouts: Record<string, number>;
    /** `step:kind,…` (kind: throw | hang | kill | transient), tests only. */
    faults: string | undefined;
    /** Gateways make no outbound calls of their own (model catalog refresh): air-gapped hosts, tests. */
    gatewayOffline: boolean;
    /** Test-only: provision steps are stand-ins that wait this long (FLEET_TEST_STANDIN_STEP_MS). */
    standinStepMs: number | undefined;
    /** This host's name (FLEET_HOST_ID, else os.hostname()): local machines are worked on only here. */
    hostId: string;
    /** `agent-fleet/sample` comes from the local sample forge (FLEET_SAMPLE_REPO; never in production). */
    sampleRepo: boolean;
    /** Pooled gateways kept ready per host by the processes that run workers (FLEET_WARM_POOL). */
    warmPool: number;
    /** How long a claimed pooled gateway gets to reload with the tenant's agents (FLEET_WARM_RELOAD_TIMEOUT_MS). */
    warmReloadTimeoutMs: number;
  };
  http: {
    maxBodyBytes: number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    maxStreamsPerUser: number;
    rateLimitPerMinute: number;
    platformRateLimitPerMinute: number;
    webhookRateLimitPerMinute: number;
    /** fleet_events older than this are pruned by `fleet serve` (FLEET_EVENTS_RETENTION_HOURS). */
    eventsRetentionHours: number;
    /** A fleet's newest runs shown whole by GET /api/fleet (FLEET_LOG_WHOLE_RUNS); older ones summarised. */
    logWholeRuns: number;
  };
  /** What URLs a tenant names (Mission Control) may point at: https only in production, never private addresses. */
  outbound: OutboundPolicy;
  /** GET /metrics requires it as a bearer token when set; public otherwise. */
  metricsToken: string | undefined;
  /** Verifies Clerk's webhook deliveries (CLERK_WEBHOOK_SIGNING_SECRET); unset: the webhook answers 404 saying so. */
  clerkWebhookSecret: string | undefined;
  /** Where `fleet worker` serves its /metrics (FLEET_METRICS_PORT); no listener when unset. */
  metricsPort: number | undefined;
  /** Where the dashboard's built files are. */
  webDir: string;
  compute: {
    /** The driver new fleets get. */
    driver: 'local' | 'gcp';
    gcp: GcpConfig | undefined;
  };
  limits: {
    plans: Record<Plan, PlanLimits>;
  };
  /** The reconciler's loop (pipeline/reconciler.ts). */
  reconcile: ReconcileConfig;
}

export interface ReconcileConfig {
  intervalSeconds: number;
  unhealthyChecks: number;
  deleteOrphans: boolean;
  /** Fleets looked at side by side in a pass (default 8). */
  concurrency?: number;
}

export interface GcpConfig {
  project: string;
  zones: string[];
  machineType: string;
  image: string;
  network: string;
  /** `https://compute.googleapis.com` unless set (a stand-in in tests). */
  apiEndpoint: string | undefined;
  /** A fixed bearer token; without it, Application Default Credentials. */
  accessToken: string | undefined;
  sshUser: string;
  sshPort: number;
  /** The gateway's port on each VM. */
  gatewayPort: number;
  /** Network tags on each VM, for the firewall rule that opens the gateway port. */
  networkTags: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0] ?? '(environment)')}: ${i.message}`)),
    ...crossCheck(source),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const env = parsed.data;
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    dataDir: path.resolve(env.FLEET_DATA_DIR),
    databaseUrl: env.DATABASE_URL,
    dbPoolSize: env.FLEET_DB_POOL_SIZE,
    dbPreparedStatements: env.FLEET_DB_PREPARED_STATEMENTS === 'true',
    logLevel: env.LOG_LEVEL,
    clerk:
      env.CLERK_JWT_KEY && env.CLERK_PUBLISHABLE_KEY
        ? {
            jwtKey: env.CLERK_JWT_KEY.replace(/\\n/g, '\n'),
            publishableKey: env.CLERK_PUBLISHABLE_KEY,
            secretKey: env.CLERK_SECRET_KEY,
            authorizedParties: env.CLERK_AUTHORIZED_PARTIES,
          }
        : undefined,
    platformToken: env.FLEET_PLATFORM_TOKEN,
    secretsKey: env.FLEET_SECRETS_KEY,
    pipeline: {
      gitBaseUrl: env.FLEET_GIT_BASE_URL.endsWith('/') ? env.FLEET_GIT_BASE_URL : `${env.FLEET_GIT_BASE_URL}/`,
      discordApiUrl: env.FLEET_DISCORD_API_URL.replace(/\/$/, ''),
      runtimeCacheDir: runtimeCacheDir(env),
      localIsolation: env.FLEET_LOCAL_ISOLATION,
      gatewayCommand: env.FLEET_GATEWAY_COMMAND ? path.resolve(env.FLEET_GATEWAY_COMMAND) : undefined,
      workers: env.FLEET_WORKERS,
      heartbeatSeconds: env.FLEET_HEARTBEAT_SECONDS,
      staleAfterSeconds: env.FLEET_STALE_AFTER_SECONDS,
      checkpointFlushAfterMs: env.FLEET_CHECKPOINT_FLUSH_AFTER_MS,
      stepTimeouts: env.FLEET_STEP_TIMEOUTS ?? {},
      faults: env.FLEET_TEST_FAULTS,
      gatewayOffline: env.FLEET_GATEWAY_OFFLINE === '1',
      standinStepMs: env.FLEET_TEST_STANDIN_STEP_MS,
      hostId: env.FLEET_HOST_ID ?? os.hostname(),
      sampleRepo: env.NODE_ENV !== 'production' && env.FLEET_SAMPLE_REPO !== '0',
      warmPool: env.FLEET_WARM_POOL,
      warmReloadTimeoutMs: env.FLEET_WARM_RELOAD_TIMEOUT_MS,
    },
    http: {
      maxBodyBytes: env.FLEET_MAX_BODY_BYTES,
      eventsRetentionHours: env.FLEET_EVENTS_RETENTION_HOURS,
      headersTimeoutMs: env.FLEET_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.FLEET_HTTP_REQUEST_TIMEOUT_MS,
      maxStreamsPerUser: env.FLEET_MAX_STREAMS_PER_USER,
      rateLimitPerMinute: env.FLEET_RATE_LIMIT_PER_MINUTE,
      platformRateLimitPerMinute: env.FLEET_PLATFORM_RATE_LIMIT_PER_MINUTE,
      webhookRateLimitPerMinute: env.FLEET_WEBHOOK_RATE_LIMIT_PER_MINUTE,
      logWholeRuns: env.FLEET_LOG_WHOLE_RUNS,
    },
    outbound: { allowHttp: env.NODE_ENV !== 'production', allowLoopback: env.FLEET_TEST_ALLOW_LOOPBACK_URLS === '1' },
    metricsToken: env.FLEET_METRICS_TOKEN,
    clerkWebhookSecret: env.CLERK_WEBHOOK_SIGNING_SECRET,
    metricsPort: env.FLEET_METRICS_PORT,
    webDir: path.resolve(env.FLEET_WEB_DIR),
    compute: {
      driver: env.FLEET_COMPUTE,
      // Also set (and checked) without FLEET_COMPUTE=gcp when a project is named: fleets created on
      // GCP keep working after the default changes back to local.
      gcp: env.FLEET_GCP_PROJECT
        ? {
            project: env.FLEET_GCP_PROJECT,
            zones: env.FLEET_GCP_ZONES,
            machineType: env.FLEET_GCP_MACHINE_TYPE,
            image: env.FLEET_GCP_IMAGE,
            network: env.FLEET_GCP_NETWORK,
            apiEndpoint: env.FLEET_GCP_API_ENDPOINT,
            accessToken: env.FLEET_GCP_ACCESS_TOKEN,
            sshUser: env.FLEET_SSH_USER,
            sshPort: env.FLEET_SSH_PORT,
            gatewayPort: env.FLEET_GCP_GATEWAY_PORT,
            networkTags: env.FLEET_GCP_NETWORK_TAGS,
          }
        : undefined,
    },
    limits: { plans: env.FLEET_PLAN_LIMITS },
    reconcile: {
      intervalSeconds: env.FLEET_RECONCILE_INTERVAL_SECONDS,
      unhealthyChecks: env.FLEET_RECONCILE_UNHEALTHY_CHECKS,
      concurrency: env.FLEET_RECONCILE_CONCURRENCY,
      deleteOrphans: env.FLEET_DELETE_ORPHANS === 'true',
    },
  };
}

/**
 * The `fleet` client commands' environment (login, status, provision, tenants …): which server and
 * which credentials. Apart from the server's schema, so that a client never stops on a server
 * setting it does not use.
 */
const clientEnvSchema = z.object({
  FLEET_URL: optionalNonEmpty.pipe(z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }).optional()),
  FLEET_TOKEN: optionalNonEmpty,
  FLEET_PLATFORM_TOKEN: optionalNonEmpty,
  XDG_CONFIG_HOME: optionalNonEmpty,
});

export interface ClientConfig {
  /** The API's base URL when FLEET_URL names one. */
  url: string | undefined;
  /** A session token given in the environment; it wins over the stored one. */
  token: string | undefined;
  platformToken: string | undefined;
  /** Where `fleet login` stores the base URL and token: `$XDG_CONFIG_HOME/agent-fleet/config.json`, else `~/.config/…`. */
  configFile: string;
}

/** Parses the client's environment; throws a ConfigError naming every bad variable. */
export function loadClientConfig(source: NodeJS.ProcessEnv = process.env): ClientConfig {
  const parsed = clientEnvSchema.safeParse(source);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const env = parsed.data;
  // The XDG spec ignores a relative XDG_CONFIG_HOME.
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return {
    url: env.FLEET_URL,
    token: env.FLEET_TOKEN,
    platformToken: env.FLEET_PLATFORM_TOKEN,
    configFile: path.join(configHome, 'agent-fleet', 'config.json'),
  };
}
