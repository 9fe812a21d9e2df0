import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A value kept in a mode-600 file in the data dir, generated on first use. Dev mode only: in
 * production these come from the environment (config.ts refuses to start without them).
 */
export function ensureDataDirSecret(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process made it first: use theirs.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return fs.readFileSync(file, 'utf8').trim();
}

export const makePlatformToken = () => `fpt_${randomBytes(24).toString('base64url')}`;
export const makeSecretsKey = () => randomBytes(32).toString('hex');
