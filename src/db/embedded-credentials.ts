import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * `postgres.json` in the data dir: how the processes of one data dir (`fleet serve`, `fleet
 * worker`, the CLI) reach its embedded cluster. Mode 0600, owned by the control plane's user,
 * enforced at every start (an existing file keeps its mode when rewritten, so it is set
 * explicitly): the superuser's password in it would open the whole cluster.
 */

/** The role and database the application works in (never a superuser). */
export const APP_ROLE = 'fleet_app';
export const APP_DATABASE = 'fleet';

export interface EmbeddedCredentials {
  port: number;
  /** The superuser "postgres": for setup only (and for the tests' global setup). */
  password: string;
  appPassword: string;
}

const fileOf = (dataDir: string) => path.join(dataDir, 'postgres.json');
export const newPassword = () => randomBytes(18).toString('base64url');

/** What the file holds, or undefined when there is none. A previous version wrote no `appPassword`. */
export function readCredentials(dataDir: string): Partial<EmbeddedCredentials> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(fileOf(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as Partial<EmbeddedCredentials>;
}

/** Replaces the file atomically (readers never see half of it) with mode 0600. */
export function writeCredentials(dataDir: string, creds: EmbeddedCredentials): void {
  const file = fileOf(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(creds), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function appUrl(creds: EmbeddedCredentials): string {
  return `postgres://${APP_ROLE}:${encodeURIComponent(creds.appPassword)}@127.0.0.1:${creds.port}/${APP_DATABASE}`;
}

export function adminUrl(creds: EmbeddedCredentials, database = 'postgres'): string {
  return `postgres://postgres:${encodeURIComponent(creds.password)}@127.0.0.1:${creds.port}/${database}`;
}
