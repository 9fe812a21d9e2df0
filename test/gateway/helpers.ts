import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';

/** A fresh scratch dir under $TMPDIR (tests here never write elsewhere). */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fleet-gw-${prefix}-`));
}

/**
 * A loopback port that is free right now, from 19000–19499 (the range these tests may use on a
 * shared machine), tried in random order.
 */
export async function freePort(from = 19000, to = 19499): Promise<number> {
  const ports = Array.from({ length: to - from + 1 }, (_, i) => from + i).sort(() => Math.random() - 0.5);
  for (const port of ports.slice(0, 50)) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}–${to}`);
}

/** The runtime cache dir the product would use with this environment (config.ts decides it). */
export function configuredRuntimeCacheDir(): string {
  const { FLEET_RUNTIME_CACHE_DIR, XDG_CACHE_HOME } = process.env;
  return loadConfig({ FLEET_RUNTIME_CACHE_DIR, XDG_CACHE_HOME }).pipeline.runtimeCacheDir;
}
