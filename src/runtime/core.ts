import type { Config } from '../config.ts';
import { EventHub } from '../events/hub.ts';
import type { Logger } from '../observability/logger.ts';
import { RunQueue } from '../pipeline/queue.ts';
import { pipelineSettings, type PipelineSettings } from '../pipeline/settings.ts';
import { SecretBox } from '../secrets/secret-box.ts';
import { TemplateRegistry } from '../templates/registry.ts';
import { ensureSampleRepo } from '../workspace/sample-repo.ts';
import { openDatabase, type OpenDatabase } from './database.ts';
import { ensureDataDirSecret, makeSecretsKey } from './dev-secrets.ts';

/** What both `fleet serve` and `fleet worker` run on: database, queue, events, secrets, templates. */
export interface Core {
  database: OpenDatabase;
  templates: TemplateRegistry;
  box: SecretBox;
  queue: RunQueue;
  events: EventHub;
  settings: PipelineSettings;
  close(): Promise<void>;
}

export async function startCore(config: Config, logger: Logger, opts: { attach: boolean }): Promise<Core> {
  const templates = TemplateRegistry.load();
  // Made at start-up, so the first fleet that names it finds it (and a broken git shows here, not in a run).
  if (config.pipeline.sampleRepo) await ensureSampleRepo(config.dataDir);
  if (config.pipeline.localIsolation === 'shared') {
    logger.warn(
      'local driver: every fleet runs as this user (no root, so no OS user per fleet): the fleets on this host are one trust domain' +
        (config.env === 'production' ? ', so it serves one tenant only' : ''),
    );
  }
  // config.ts guarantees the key is set in production; in dev it lives in the data dir.
  const box = SecretBox.fromHex(config.secretsKey ?? ensureDataDirSecret(config.dataDir, 'secrets.key', makeSecretsKey));
  // Before the database: bad cloud credentials are a start-up error, not a fleet stuck later.
  // Imported only when configured: the Compute Engine client weighs ~100 MB of RSS (its API
  // descriptions), more than an API process with 1,000 event streams needs for everything else.
  const gcp = config.compute.gcp ? await (await import('./gcp-driver-from-config.ts')).gcpDriverFromConfig(config.compute.gcp) : undefined;
  const database = await openDatabase(config, logger, {
    attach: opts.attach,
    schema: 'check',
    poolSize: config.dbPoolSize,
    preparedStatements: config.dbPreparedStatements,
  });
  try {
    const queue = await RunQueue.start(database.url, logger.child({ component: 'queue' }), config.pipeline.hostId);
    const events = await EventHub.start(database.url, logger.child({ component: 'events' }));
    return {
      database,
      templates,
      box,
      queue,
      events,
      settings: pipelineSettings(config, box, gcp ? { gcp: gcp.driver } : {}),
      close: async () => {
        await events.close();
        await queue.stop();
        await database.close();
        await gcp?.close();
      },
    };
  } catch (e) {
    await database.close();
    await gcp?.close();
    throw e;
  }
}
