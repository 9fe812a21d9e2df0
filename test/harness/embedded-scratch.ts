import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach } from 'vitest';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded.ts';

/**
 * Embedded PostgreSQL servers of a test file's own, in scratch data dirs, stopped and removed
 * after each test. `running` is exposed so a test that stops a server itself can say so.
 */
export function useEmbeddedScratch(prefix: string, log: { info(m: string): void; warn(m: string): void; debug(m: string): void }) {
  const dirs: string[] = [];
  const running: EmbeddedDatabase[] = [];
  afterEach(async () => {
    for (const db of running.splice(0)) await db.stop();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    running,
    tmp: () => {
      const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    start: async (dataDir: string) => {
      const db = await startEmbeddedPostgres({ dataDir, log, unsafeFast: true });
      running.push(db);
      return db;
    },
    query: async (url: string, text: string) => {
      const c = new pg.Client(url);
      await c.connect();
      try {
        return (await c.query(text)).rows;
      } finally {
        await c.end();
      }
    },
  };
}
