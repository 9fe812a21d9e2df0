import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { PostgresBinaries } from './postgres-binaries.ts';

/**
 * initdb and the PostgreSQL server as child processes of ours, started with an environment built
 * from an allow-list: the control plane's environment holds its secrets (secrets key, Clerk key,
 * platform token, DATABASE_URL), and whoever reaches the server's OS user (or a superuser's
 * `pg_read_file('/proc/self/environ')`) could read every one of them.
 */

/** The OS user the server runs as, when we are root (PostgreSQL refuses to run as root). */
export interface OsIds {
  uid: number;
  gid: number;
}

interface Logger {
  debug(msg: string): void;
}

/** The whole environment of initdb and the server. */
export function postgresEnv(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  // C messages: we read the server's log to know when it is ready.
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C', LC_MESSAGES: 'C' };
  if (source.TZ) env.TZ = source.TZ;
  return env;
}

const tail = (text: string) => text.trim().split('\n').slice(-5).join('\n');

/** Creates the cluster in `pgDir` (which must not hold one) with `superuserPassword` for "postgres". */
export async function initCluster(
  bin: PostgresBinaries,
  opts: { pgDir: string; superuserPassword: string; ids: OsIds | undefined; log: Logger },
): Promise<void> {
  const { pgDir, ids } = opts;
  fs.mkdirSync(pgDir, { recursive: true, mode: 0o700 });
  if (ids) fs.chownSync(pgDir, ids.uid, ids.gid);
  // initdb reads the password from a file: one only its OS user can read, gone right after.
  const pwfile = path.join(path.dirname(pgDir), `.pg-pwfile-${randomBytes(6).toString('hex')}`);
  fs.writeFileSync(pwfile, `${opts.superuserPassword}\n`, { mode: 0o600 });
  if (ids) fs.chownSync(pwfile, ids.uid, ids.gid);
  try {
    const args = [
      `--pgdata=${pgDir}`,
      '--username=postgres',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      // The builtin provider: Unicode-aware case rules without depending on the OS's locales.
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--locale=C',
    ];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(bin.initdb, args, { ...ids, env: postgresEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        opts.log.debug(chunk.toString().trim());
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', reject);
      child.once('close', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (${signal ?? `exit ${code}`}): ${tail(output)}`)),
      );
    });
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

export interface PostgresServer {
  pid: number;
  stop(): Promise<void>;
}

/** Starts the server on `pgDir` and resolves once it accepts connections. */
export function startServer(
  bin: PostgresBinaries,
  opts: { pgDir: string; port: number; flags: string[]; ids: OsIds | undefined; log: Logger },
): Promise<PostgresServer> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(bin.postgres, ['-D', opts.pgDir, '-p', String(opts.port), ...opts.flags], {
      ...opts.ids,
      env: postgresEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    let ready = false;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    // A Node process that exits without stopping us (an uncaught error, process.exit) must not leave
    // the server behind; a SIGKILLed one does, and the next start stops it (embedded.ts).
    const stopOnExit = () => child.kill('SIGINT');
    process.once('exit', stopOnExit);
    const server: PostgresServer = {
      pid: child.pid ?? 0,
      stop: async () => {
        process.removeListener('exit', stopOnExit);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
      },
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      opts.log.debug(text.trim());
      if (ready) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        output = '';
        resolve(server);
      }
    });
    child.once('error', (e) => {
      process.removeListener('exit', stopOnExit);
      reject(e);
    });
    child.once('close', (code, signal) => {
      process.removeListener('exit', stopOnExit);
      if (!ready) reject(new Error(`PostgreSQL exited while starting (${signal ?? `exit ${code}`}): ${tail(output)}`));
    });
  });
}
