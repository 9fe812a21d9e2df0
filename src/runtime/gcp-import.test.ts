import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// A module hook that refuses the Compute Engine client: whatever loads it fails.
const REFUSE_GCP = `export async function resolve(specifier, context, next) {
  if (specifier === '@google-cloud/compute' || specifier.startsWith('@google-cloud/compute/')) throw new Error('@google-cloud/compute was loaded');
  return next(specifier, context);
}`;
const LOADER = `import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';
registerTsx();
register('data:text/javascript,' + encodeURIComponent(process.env.REFUSE_GCP));
await import(process.env.MODULE);`;

/** Loads a module of ours in a fresh Node process where @google-cloud/compute cannot be loaded. */
function loadWithoutGcp(file: string) {
  const root = path.resolve(import.meta.dirname, '../..');
  return spawnSync(process.execPath, ['--input-type=module', '-e', LOADER], {
    cwd: root,
    env: { PATH: process.env.PATH, REFUSE_GCP, MODULE: pathToFileURL(path.join(root, file)).href },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('the Compute Engine client', () => {
  // It weighs ~100 MB of RSS: an API process, or a fleet on the local driver, must not pay for it.
  it('is not loaded by the server unless the gcp driver is configured', () => {
    const server = loadWithoutGcp('src/server.ts');
    expect(server.stderr).toBe('');
    expect(server.status).toBe(0);
  });

  it('is loaded by the module that builds the gcp driver (the hook above can tell)', () => {
    const gcp = loadWithoutGcp('src/runtime/gcp-driver-from-config.ts');
    expect(gcp.status).not.toBe(0);
    expect(gcp.stderr).toContain('@google-cloud/compute was loaded');
  });
});
