import fs from 'node:fs';
import path from 'node:path';

/**
 * The local compute driver: a "machine" is a directory `fleets/<tenant slug>/` under the data dir
 * plus the processes started in it, on this host, reachable on loopback. It has no zone.
 */
export interface LocalMachine {
  vmName: string;
  ip: '127.0.0.1';
  root: string;
}

/** Creates (or finds) the tenant's machine directory. Idempotent: same slug, same machine. */
export function createLocalMachine(fleetsDir: string, tenantSlug: string): LocalMachine {
  // The slug was validated at input (snake_case), so it cannot climb out of fleetsDir; check anyway.
  const root = path.resolve(fleetsDir, tenantSlug);
  if (path.dirname(root) !== path.resolve(fleetsDir)) throw new Error(`refusing machine path outside ${fleetsDir}: ${tenantSlug}`);
  fs.mkdirSync(root, { recursive: true, mode: 0o750 });
  return { vmName: `fleet-${tenantSlug.replace(/_/g, '-')}`, ip: '127.0.0.1', root };
}
