import type { Config } from '../config.ts';
import { checkSchema, createDb, type Db, migrateToLatest } from '../db/connection.ts';
import { attachEmbeddedPostgres, type EmbeddedDatabase, startEmbeddedPostgres } from '../db/embedded.ts';
import type { Logger } from '../observability/logger.ts';
import type pg from 'pg';

export interface OpenDatabase {
  db: Db;
  pool: pg.Pool;
  url: string;
  close(): Promise<void>;
}

/**
 * `DATABASE_URL` when set; otherwise the embedded cluster in the data dir — attached to when
 * another fleet process runs it (`attach: true`), started and owned by us otherwise.
 *
 * Schema: `migrate` applies pending migrations (`fleet migrate`, the deploy step). `check` refuses
 * to go on when the schema is behind (SchemaBehindError): `serve` and `worker` never migrate a
 * shared database on start, where every process of a deploy would race to. The one exception is
 * an embedded cluster this process started itself: nobody else uses it, and `npm start` on a fresh
 * machine must work without a deploy step.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  opts: { attach: boolean; schema: 'migrate' | 'check'; poolSize?: number; preparedStatements?: boolean },
): Promise<OpenDatabase> {
  let ownEmbedded = false;
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = opts.attach ? attachEmbeddedPostgres(config.dataDir) : undefined;
    if (embedded) log.info({ dataDir: config.dataDir }, 'attached to the embedded PostgreSQL of a running fleet process');
    else {
      const pgLog = log.child({ component: 'postgres' });
      embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        log: { info: (m) => pgLog.info(m), warn: (m) => pgLog.warn(m), debug: (m) => pgLog.debug(m) },
      });
      ownEmbedded = true;
      log.info({ dataDir: config.dataDir }, 'embedded PostgreSQL started');
    }
    url = embedded.url;
  }
  const { db, pool } = createDb(url, { max: opts.poolSize, preparedStatements: opts.preparedStatements ?? true });
  try {
    if (opts.schema === 'migrate' || ownEmbedded) {
      const applied = await migrateToLatest(db);
      if (applied.length) log.info({ applied }, 'database migrations applied');
    } else {
      await checkSchema(db);
    }
  } catch (e) {
    await db.destroy();
    await embedded?.stop();
    throw e;
  }
  return {
    db,
    pool,
    url,
    close: async () => {
      await db.destroy();
      await embedded?.stop();
    },
  };
}
