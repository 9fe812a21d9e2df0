import { serve, type ServerType } from '@hono/node-server';
import { createServer, type RequestListener, type ServerOptions } from 'node:http';
import { MemoryStore } from 'hono-rate-limiter';
import { createApp } from './api/app.ts';
import type { AppDeps, AppEnv } from './api/context.ts';
import { withFleetFastPath } from './api/fleet-fast-path.ts';
import { answerClientError, refuseConnect } from './api/client-errors.ts';
import { FleetViewCache } from './api/fleet-view-cache.ts';
import { fleetViewBounds } from './api/serialize.ts';
import type { Config } from './config.ts';
import { pruneEvents } from './db/events.ts';
import type { Db } from './db/connection.ts';
import { countOrphans } from './db/orphan-machines.ts';
import { countQueuedRuns } from './db/runs.ts';
import { countFleetsByStatus } from './db/tenants.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { type RunningReconciler, startReconciler } from './pipeline/reconciler.ts';
import type { StepDefinition } from './pipeline/step.ts';
import { provisionStepsFor } from './pipeline/steps/index.ts';
import { type RunningWorker, startWorker } from './pipeline/worker.ts';
import { countReady } from './db/warm-gateways.ts';
import { warmPoolsOf } from './pipeline/warm-machine.ts';
import { setUpAuth } from './runtime/auth-setup.ts';
import { startCore } from './runtime/core.ts';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts everything `fleet serve` runs: database (+ migrations), queue, workers, HTTP API. */
export async function startServer(
  config: Config,
  logger: Logger,
  // The soak (bench/soak.ts) runs the whole server with stand-in steps: real HTTP, database, queue and workers, no machines.
  opts: { steps?: StepDefinition[] } = {},
): Promise<RunningServer> {
  const core = await startCore(config, logger, { attach: false });
  const { db } = core.database;
  const { verifier, platformToken, devSignIn } = setUpAuth(config);
  const metrics = new Metrics({
    fleetsByStatus: () => countFleetsByStatus(db),
    queueDepth: () => countQueuedRuns(db),
    orphanMachines: () => countOrphans(db),
    warmPoolReady: () => countReady(db, warmPoolsOf(core.settings)),
    defaultMetrics: true,
  });

  let worker: RunningWorker | undefined;
  let reconciler: RunningReconciler | undefined;
  if (config.pipeline.workers > 0) {
    worker = await startWorker({
      db,
      steps: opts.steps ?? provisionStepsFor(config),
      settings: core.settings,
      log: logger,
      metrics,
      queue: core.queue,
      concurrency: config.pipeline.workers,
    });
    // Its first pass, at once, starts the gateways of running fleets that died while serve was down.
    reconciler = startReconciler({ db, settings: core.settings, log: logger, config: config.reconcile });
  }
  const fleetCache = new FleetViewCache(db, core.events, fleetViewBounds(config));
  const shutdown = new AbortController();
  const pruning = pruneEventsEvery(db, config.http.eventsRetentionHours, logger);
  const userRateStore = new MemoryStore<AppEnv>();
  const appDeps: AppDeps = {
    config,
    db,
    verifier,
    platformToken,
    templates: core.templates,
    logger,
    metrics,
    services: {
      db,
      templates: core.templates,
      queue: core.queue,
      box: core.box,
      computeDriver: config.compute.driver,
      outbound: config.outbound,
      planLimits: config.limits.plans,
      offer: (runId) => worker?.offer(runId),
      changed: (id) => fleetCache.invalidate(id),
    },
    events: core.events,
    fleetCache,
    devSignIn,
    clerkPublishableKey: config.clerk?.publishableKey,
    shutdown: shutdown.signal,
    userRateStore,
  };
  const app = createApp(appDeps);

  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    const { headersTimeoutMs, requestTimeoutMs } = config.http;
    server = serve(
      {
        fetch: app.fetch,
        port: config.port,
        hostname: config.host,
        // Receiving a request is bounded (SSE answers are not: these limits are for the request).
        // Node checks them every connectionsCheckingInterval, so that follows the shorter limit.
        // GET /api/fleet from memory when it can be; everything else through the app (fleet-fast-path.ts).
        createServer: ((options: ServerOptions, listener: RequestListener) =>
          createServer(options, withFleetFastPath({ ...appDeps, userRateStore }, listener) as RequestListener)) as never,
        serverOptions: {
          headersTimeout: headersTimeoutMs,
          requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
          connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
        },
      },
      (info) => resolve(info.port),
    );
    server.once('error', reject);
    // What Node's parser refuses is answered in our error envelope, not as a bare status line.
    server.on('clientError', answerClientError);
    server.on('connect', refuseConnect);
  }).catch(async (e: NodeJS.ErrnoException) => {
    clearInterval(pruning);
    await reconciler?.stop();
    await worker?.stop();
    await core.close();
    if (e.code === 'EADDRINUSE') throw new Error(`Port ${config.port} is already in use. Set PORT to a free port.`, { cause: e });
    throw e;
  });
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, devSignIn: devSignIn !== undefined, workers: config.pipeline.workers }, 'Agent Fleet API listening');
  if (config.env === 'production' && !config.metricsToken) {
    // Not refused: many deployments keep /metrics on a private network. But say it.
    logger.warn('/metrics is public: anyone who reaches this port reads its metrics. Set FLEET_METRICS_TOKEN to require a bearer token.');
  }
  return {
    url,
    port,
    close: async () => {
      clearInterval(pruning);
      // Stop accepting, tell each event stream to come back later (`retry:`) and end it, let the
      // requests in flight finish (briefly), then close what is left.
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      shutdown.abort();
      const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void } | undefined;
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      let done = false;
      void closed.then(() => (done = true));
      while (!done && Date.now() < deadline) {
        http?.closeIdleConnections?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      http?.closeAllConnections?.();
      await closed;
      await reconciler?.stop();
      await worker?.stop();
      await core.close();
    },
  };
}

/** How long a stopping API waits for its requests in flight (and streams' last words) before closing their connections. */
const SHUTDOWN_GRACE_MS = 2000;

/**
 * fleet_events would grow for ever: every API process prunes what is older than the retention now
 * and then (several doing it at once is harmless). SSE clients resuming from before get a snapshot.
 */
function pruneEventsEvery(db: Db, keepHours: number, logger: Logger): NodeJS.Timeout {
  const prune = () =>
    pruneEvents(db, keepHours).then(
      (deleted) => deleted > 0 && logger.info({ deleted, keepHours }, 'pruned old fleet events'),
      (err: unknown) => logger.warn({ err }, 'pruning fleet events failed; trying again later'),
    );
  void prune();
  const timer = setInterval(prune, 10 * 60_000);
  timer.unref();
  return timer;
}
