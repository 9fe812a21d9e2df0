import type { Command } from 'commander';
import { Metrics } from '../observability/metrics.ts';
import { LOCAL_STEPS } from '../pipeline/steps/index.ts';
import { startWorker } from '../pipeline/worker.ts';
import { countQueuedRuns } from '../db/runs.ts';
import { startCore } from '../runtime/core.ts';
import { startMetricsListener } from '../runtime/metrics-listener.ts';
import { cliLogger, loadCliConfig, parsePositiveInt } from './common.ts';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run provisioning workers only (any number of these, on any machine, share the work)')
    .option('--concurrency <n>', 'runs worked on at once', parsePositiveInt)
    .action(async (opts: { concurrency?: number }) => {
      const config = loadCliConfig();
      const logger = cliLogger(config.logLevel);
      // Attach to the embedded database of a running `fleet serve` in the same data dir.
      const core = await startCore(config, logger, { attach: true });
      const metrics = new Metrics({ queueDepth: () => countQueuedRuns(core.database.db), defaultMetrics: true });
      const worker = await startWorker({
        db: core.database.db,
        steps: LOCAL_STEPS,
        settings: core.settings,
        log: logger,
        metrics,
        queue: core.queue,
        concurrency: opts.concurrency ?? Math.max(1, config.pipeline.workers),
      });
      const listener =
        config.metricsPort === undefined
          ? undefined
          : await startMetricsListener({ port: config.metricsPort, host: config.host, metrics, token: config.metricsToken });
      if (listener) logger.info({ url: `http://${config.host}:${listener.port}/metrics` }, 'worker metrics listening');
      const stop = async () => {
        await listener?.close();
        await worker.stop();
        await core.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
