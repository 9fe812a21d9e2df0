import { type ChildProcess, spawn } from 'node:child_process';
import type { TestApp } from './app.ts';

/**
 * A `fleet worker` child process on a test app's database, data dir and secrets key, as a
 * second worker of the same host runs: the doomed worker of the kill tests (FLEET_TEST_FAULTS)
 * or any other. Its environment is built from an allow-list, as the product builds its
 * children's: PATH and HOME, the FLEET_* settings this test process set for itself (a stand-in
 * gateway command, say), the app's, then `env`.
 */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** The signal it died of, or null when it exited by itself. */
  died: Promise<NodeJS.Signals | null>;
  /** What it wrote to stderr so far (its warnings and errors: LOG_LEVEL is warn unless `env` says otherwise). */
  stderr(): string;
  /** SIGKILL, unless it has ended already. */
  kill(): void;
}

export function spawnWorkerProcess(app: TestApp, env: Record<string, string> = {}): WorkerProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FLEET_')));
  const child = spawn(process.execPath, ['bin/fleet.js', 'worker', '--concurrency', '1'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...inherited,
      DATABASE_URL: app.database.url,
      FLEET_DATA_DIR: app.dataDir,
      FLEET_SECRETS_KEY: app.box.keyHex(),
      FLEET_HOST_ID: app.settings.hostId,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const died = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
  return {
    child,
    pid: child.pid!,
    died,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
