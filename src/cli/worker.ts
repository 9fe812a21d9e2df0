import type { Command } from 'commander';
import { cliLogger, loadCliConfig, parsePositiveInt } from './common.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run provisioning workers only (any number of these, on any machine, share the work)')
    .option('--concurrency <n>', 'runs worked on at once', parsePositiveInt)
    .addHelpText(
      'after',
      '\nExample:\n  fleet worker --concurrency 2   # next to a `fleet serve` with the same FLEET_DATA_DIR, or with DATABASE_URL\n',
    )
    .action(async (opts: { concurrency?: number }) => {
      // Loaded here, not at the top: client commands must not pay for the pipeline's import.
      const { Metrics } = await import('../observability/metrics.ts');
      const { LOCAL_STEPS } = await import('../pipeline/steps/index.ts');
      const { startWorker } = await import('../pipeline/worker.ts');
      const { startCore } = await import('../runtime/core.ts');
      const { countQueuedRuns } = await import('../db/runs.ts');
      const { countOrphans } = await import('../db/orphan-machines.ts');
      const { startReconciler } = await import('../pipeline/reconciler.ts');
      const { startMetricsListener } = await import('../runtime/metrics-listener.ts');
      const config = loadCliConfig();
      const logger = cliLogger(config.logLevel);
      // Attach to the embedded database of a running `fleet serve` in the same data dir.
      const core = await startCore(config, logger, { attach: true });
      const metrics = new Metrics({
        queueDepth: () => countQueuedRuns(core.database.db),
        orphanMachines: () => countOrphans(core.database.db),
        defaultMetrics: true,
      });
      const worker = await startWorker({
        db: core.database.db,
        steps: LOCAL_STEPS,
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
          : await startMetricsListener({ port: config.metricsPort, host: config.host, metrics, token: config.metricsToken });
      if (listener) logger.info({ url: `http://${config.host}:${listener.port}/metrics` }, 'worker metrics listening');
      const stop = async () => {
        await listener?.close();
        await reconciler.stop();
        await worker.stop();
        await core.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
