import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Starts `bench/soak-server.ts` as a process of its own (its RSS and CPU are then its own to
 * measure) with an environment built from scratch: loopback, dev mode, `dataDir`, plus `env`. Its
 * log goes to `<dir>/server.log`; resolves once it prints the URL it listens on.
 */
export async function startSoakServer(opts: {
  dir: string;
  dataDir: string;
  env: Record<string, string>;
  nodeArgs?: string[];
}): Promise<{ child: ChildProcess; url: string; logFile: string }> {
  const logFile = path.join(opts.dir, 'server.log');
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), 'bin/run-ts.js', 'bench/soak-server.ts'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      FLEET_DATA_DIR: opts.dataDir,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', fs.openSync(logFile, 'a')],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the bench server exited (${code}) before listening; see ${logFile}`)));
    setTimeout(() => reject(new Error(`the bench server did not listen within 60 s; see ${logFile}`)), 60_000).unref();
  });
  return { child, url, logFile };
}
