import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './api/app.ts';
import type { Config } from './config.ts';
import { countFleetsByStatus } from './db/tenants.ts';
import type { Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { setUpAuth } from './runtime/auth-setup.ts';
import { openDatabase } from './runtime/database.ts';
import { TemplateRegistry } from './templates/registry.ts';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts everything `fleet serve` runs: database (+ migrations), HTTP API. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const templates = TemplateRegistry.load();
  const database = await openDatabase(config, logger, { attach: false, migrate: true, poolSize: 20 });
  const { verifier, platformToken, devSignIn } = setUpAuth(config);
  const metrics = new Metrics({ fleetsByStatus: () => countFleetsByStatus(database.db), defaultMetrics: true });
  const app = createApp({ config, db: database.db, verifier, platformToken, templates, logger, metrics });

  let server: ServerType | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => resolve(info.port));
    server.once('error', reject);
  }).catch(async (e: NodeJS.ErrnoException) => {
    await database.close();
    if (e.code === 'EADDRINUSE') throw new Error(`Port ${config.port} is already in use. Set PORT to a free port.`, { cause: e });
    throw e;
  });
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, devSignIn }, 'Agent Fleet API listening');
  if (devSignIn) {
    logger.info(
      { platformTokenFile: `${config.dataDir}/platform-token` },
      'dev sign-in is on: mint a session token with `npx fleet dev token --user user_alice`; the platform token is in platformTokenFile',
    );
  }
  return {
    url,
    port,
    close: async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await database.close();
    },
  };
}
