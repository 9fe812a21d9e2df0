import path from 'node:path';
import type { Command } from 'commander';
import { cliLogger, loadCliConfig, parseCount } from './common.ts';
import { gatewaysKeptMessage } from './gateways.ts';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API (embedded PostgreSQL unless DATABASE_URL is set)')
    .option(
      '--workers <n>',
      'provisioning workers in this process (0: API only, next to `fleet worker` processes); default FLEET_WORKERS',
      parseCount,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  PORT=3000 FLEET_DATA_DIR=./.fleet fleet serve\n  DATABASE_URL=postgres://… fleet serve --workers 0   # API only\n',
    )
    .action(async (opts: { workers?: number }) => {
      // Loaded here, not at the top: client commands must not pay for the server's import.
      const { startServer } = await import('../server.ts');
      const { ensureDataDirSecret, makePlatformToken } = await import('../runtime/dev-secrets.ts');
      const loaded = loadCliConfig();
      const config = opts.workers === undefined ? loaded : { ...loaded, pipeline: { ...loaded.pipeline, workers: opts.workers } };
      const logger = cliLogger(config.logLevel);
      const server = await startServer(config, logger);
      if (!config.clerk && !config.platformToken) {
        // Dev only: the operator needs this token to call the platform routes from curl.
        const token = ensureDataDirSecret(config.dataDir, 'platform-token', makePlatformToken);
        process.stderr.write(
          `\nAgent Fleet (dev sign-in) at ${server.url}\n` +
            `  dashboard:      ${server.url}/ (dev sign-in in the page)\n` +
            `  session token:  npx fleet dev token --user user_alice [--org org_acme --role admin]\n` +
            `  platform token: ${token}\n` +
            `  API reference:  ${server.url}/api/reference\n\n`,
        );
      }
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        await server.close();
        // Local gateways outlive serve on purpose (they are the tenants' fleets): say so, and how to stop them.
        const { runningLocalGateways } = await import('../compute/local-gateways.ts');
        const running = await runningLocalGateways(path.join(config.dataDir, 'fleets')).catch(() => []);
        if (running.length > 0) {
          logger.info({ gateways: running }, 'local gateways keep running');
          process.stderr.write(`${gatewaysKeptMessage(running.length)}\n`);
        }
        logger.info({ signal }, 'stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    });
}
