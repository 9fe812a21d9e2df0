import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MAX_WORKERS } from '../config.ts';
import { cliLogger, loadCliConfig } from './common.ts';

/** The range FLEET_WORKERS allows (a worker process works on one run at least). */
const parseWorkerCount = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > MAX_WORKERS) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_WORKERS}`);
  return n;
};

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run provisioning workers only (any number, on any host, share the work; a local fleet stays on its host)')
    .option('--concurrency <n>', `runs worked on at once (1-${MAX_WORKERS}; default: FLEET_WORKERS)`, parseWorkerCount)
    .addHelpText(
      'after',
      '\nExample:\n  fleet worker --concurrency 2   # next to a `fleet serve` with the same FLEET_DATA_DIR, or with DATABASE_URL\n',
    )
    .action(async (opts: { concurrency?: number }) => {
      // Before anything starts: a SIGTERM during start-up stops the worker once it is up, instead
      // of killing it with its first claims half made.
      let stop: ((signal: string) => Promise<void>) | undefined;
      let pendingSignal: string | undefined;
      const onSignal = (signal: string) => {
        if (stop) void stop(signal);
        else pendingSignal ??= signal;
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      // Loaded here, not at the top: client commands must not pay for the pipeline's import.
      const { Metrics } = await import('../observability/metrics.ts');
      const { provisionStepsFor } = await import('../pipeline/steps/index.ts');
      const { startWorker } = await import('../pipeline/worker.ts');
      const { startCore } = await import('../runtime/core.ts');
      const { countQueuedRuns } = await import('../db/runs.ts');
      const { countOrphans } = await import('../db/orphan-machines.ts');
      const { countReady } = await import('../db/warm-gateways.ts');
      const { warmPoolsOf } = await import('../pipeline/warm-machine.ts');
      const { startReconciler } = await import('../pipeline/reconciler.ts');
      const { startMetricsListener } = await import('../runtime/metrics-listener.ts');
      const { workerReadiness } = await import('../runtime/worker-readiness.ts');
      const config = loadCliConfig();
      const logger = cliLogger(config.logLevel);
      // Attach to the embedded database of a running `fleet serve` in the same data dir.
      const core = await startCore(config, logger, { attach: true });
      const metrics = new Metrics({
        queueDepth: () => countQueuedRuns(core.database.db),
        orphanMachines: () => countOrphans(core.database.db),
        warmPoolReady: () => countReady(core.database.db, warmPoolsOf(core.settings)),
        defaultMetrics: true,
      });
      const worker = await startWorker({
        db: core.database.db,
        steps: provisionStepsFor(config),
        settings: core.settings,
        log: logger,
        metrics,
        queue: core.queue,
        concurrency: opts.concurrency ?? Math.max(1, config.pipeline.workers),
      });
      // Every worker runs the loop; a lock lets one of them at a time do a pass.
      const reconciler = startReconciler({ db: core.database.db, settings: core.settings, log: logger, config: config.reconcile });
      const listener =
        config.metricsPort === undefined
          ? undefined
          : await startMetricsListener({
              port: config.metricsPort,
              host: config.host,
              metrics,
              token: config.metricsToken,
              log: logger,
              readiness: workerReadiness(core.database.db, worker),
            });
      if (listener) logger.info({ url: `http://${config.host}:${listener.port}/metrics` }, 'worker metrics listening');
      let stopping = false;
      stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal, worker: worker.id }, 'stopping: handing runs back');
        await listener?.close();
        await reconciler.stop();
        await worker.stop();
        await core.close();
        logger.info({ worker: worker.id }, 'stopped');
        process.exit(0);
      };
      if (pendingSignal) void stop(pendingSignal);
    });
}
