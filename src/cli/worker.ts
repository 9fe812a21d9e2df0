import type { Command } from 'commander';
import { Metrics } from '../observability/metrics.ts';
import { LOCAL_STEPS } from '../pipeline/steps/index.ts';
import { startWorker } from '../pipeline/worker.ts';
import { startCore } from '../runtime/core.ts';
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
      const worker = await startWorker({
        db: core.database.db,
        steps: LOCAL_STEPS,
        settings: core.settings,
        log: logger,
        metrics: new Metrics(),
        queue: core.queue,
        concurrency: opts.concurrency ?? Math.max(1, config.pipeline.workers),
      });
      const stop = async () => {
        await worker.stop();
        await core.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
