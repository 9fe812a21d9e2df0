import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway cluster of Debian's PostgreSQL server (the `postgresql` package, installed by
 * scripts/ensure-postgresql.sh when missing), as a real server is run in production: its own
 * initdb in a temp dir, started with pg_ctl as the `postgres` user (PostgreSQL refuses root), on a
 * loopback port, password authentication only. Fsync is off: the data is thrown away anyway.
 */
export interface SystemPostgres {
  /** postgres://fleet:…@127.0.0.1:<port>/fleet */
  url: string;
  stop(): Promise<void>;
}

const ENSURE_SCRIPT = path.join(import.meta.dirname, '../../scripts/ensure-postgresql.sh');

function serverBinDir(): string {
  const find = () =>
    fs.existsSync('/usr/lib/postgresql')
      ? fs
          .readdirSync('/usr/lib/postgresql')
          .filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`))
          .sort((a, b) => Number(b) - Number(a))[0]
      : undefined;
  let version = find();
  if (!version) {
    execFileSync('sh', [ENSURE_SCRIPT], { stdio: 'inherit', timeout: 600_000 });
    version = find();
  }
  if (!version) throw new Error('no PostgreSQL server under /usr/lib/postgresql after scripts/ensure-postgresql.sh');
  return `/usr/lib/postgresql/${version}/bin`;
}

/** The first port of [from, to] that nothing listens on, on loopback. */
async function freeLoopbackPort(from: number, to: number): Promise<number> {
  for (let port = from; port <= to; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}–${to} for the test PostgreSQL`);
}

export async function startSystemPostgres(opts: { ports: [number, number]; maxConnections?: number }): Promise<SystemPostgres> {
  const bin = serverBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-system-pg-'));
  // As root, the cluster belongs to (and runs as) `postgres`; otherwise to whoever runs the tests.
  const owner =
    process.getuid?.() === 0
      ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) }
      : {};
  const password = randomBytes(18).toString('hex');
  fs.writeFileSync(path.join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(path.join(dir, 'pwfile'), owner.uid, owner.gid);
  }
  const run = (cmd: string, args: string[]) =>
    execFileSync(path.join(bin, cmd), args, {
      ...owner,
      cwd: dir,
      env: { PATH: process.env.PATH, LANG: 'C.UTF-8' },
      stdio: 'pipe',
      timeout: 60_000,
    });
  const data = path.join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'fleet', '--auth=scram-sha-256', `--pwfile=${path.join(dir, 'pwfile')}`, '-E', 'UTF8', '--no-sync']);
  fs.rmSync(path.join(dir, 'pwfile'));
  const port = await freeLoopbackPort(...opts.ports);
  const settings = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    `-c max_connections=${opts.maxConnections ?? 300}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
  ].join(' ');
  try {
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', settings, 'start']);
  } catch (e) {
    const log = fs.existsSync(path.join(dir, 'server.log')) ? fs.readFileSync(path.join(dir, 'server.log'), 'utf8') : '';
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`the test PostgreSQL did not start: ${(e as Error).message}\n${log}`);
  }
  execFileSync(path.join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'fleet', 'fleet'], {
    env: { PATH: process.env.PATH, PGPASSWORD: password },
    stdio: 'pipe',
  });
  return {
    url: `postgres://fleet:${password}@127.0.0.1:${port}/fleet`,
    stop: async () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
