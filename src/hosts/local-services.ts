import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from './atomic-write.ts';
import { SERVICE_NAME, ServiceStartError, type ServiceSpec, type ServiceStatus, type StopResult } from './host.ts';
import { isRunning, processStartTime } from './proc.ts';

/**
 * Long-lived services of a LocalHost: detached processes, each leading its own process group, with
 * a record (pid + process start time) kept in a directory beside the machine, not inside it: what
 * runs on the machine cannot rewrite the record to make us signal someone else's process, and a
 * recycled pid (another start time) is never taken for the service.
 */
interface ServiceRecord {
  pid: number;
  startTime: number | undefined;
}

export class LocalServices {
  /** `owner`: the user services run as (the fleet's OS user); the records stay the control plane's. */
  constructor(
    private readonly recordsDir: string,
    private readonly owner?: { uid: number; gid: number },
  ) {}

  private recordFile(name: string): string {
    if (!SERVICE_NAME.test(name)) throw new ServiceStartError(name, 'a service name is lowercase letters, digits and dashes');
    return path.join(this.recordsDir, `${name}.json`);
  }

  private async read(name: string): Promise<ServiceRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.recordFile(name), 'utf8')) as ServiceRecord;
    } catch {
      return undefined;
    }
  }

  /** The recorded process, only while that very process (same start time) is alive. */
  private async live(name: string): Promise<ServiceRecord | undefined> {
    const record = await this.read(name);
    if (!record || !isRunning(record.pid)) return undefined;
    const startTime = processStartTime(record.pid);
    if (record.startTime !== undefined && startTime !== undefined && startTime !== record.startTime) return undefined;
    return record;
  }

  async status(name: string): Promise<ServiceStatus> {
    const record = await this.live(name);
    return record ? { running: true, pid: record.pid } : { running: false };
  }

  /** `spec.cwd` and `spec.logFile` are absolute here (LocalHost resolved them inside the machine). */
  async start(spec: ServiceSpec): Promise<{ pid: number }> {
    const file = this.recordFile(spec.name);
    if (await this.live(spec.name)) throw new ServiceStartError(spec.name, 'it is already running; stop it first');
    await fs.mkdir(path.dirname(spec.logFile), { recursive: true });
    await fs.mkdir(spec.cwd, { recursive: true });
    const log = await fs.open(spec.logFile, 'a', 0o600);
    if (this.owner) await log.chown(this.owner.uid, this.owner.gid);
    let pid: number;
    let startTime: number | undefined;
    try {
      await log.write(`\n--- agent-fleet: starting ${spec.name} at ${new Date().toISOString()} ---\n`);
      const child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        env: spec.env,
        ...(this.owner ? { uid: this.owner.uid, gid: this.owner.gid } : {}),
      });
      // Read now, synchronously: the child cannot have been reaped yet (that happens on the event
      // loop), so /proc/<pid> exists even if it exits at once. A record without a start time
      // would match whatever process gets the pid next.
      startTime = child.pid === undefined ? undefined : processStartTime(child.pid);
      try {
        await once(child, 'spawn');
      } catch (error) {
        throw new ServiceStartError(spec.name, (error as Error).message);
      }
      child.unref();
      pid = child.pid as number;
    } finally {
      await log.close(); // the child has its own copy of the descriptor
    }
    await fs.mkdir(this.recordsDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, JSON.stringify({ pid, startTime } satisfies ServiceRecord));
    return { pid };
  }

  async stop(name: string, graceMs = 15_000): Promise<StopResult> {
    const record = await this.live(name);
    const forget = () => fs.rm(this.recordFile(name), { force: true });
    if (!record) {
      await forget();
      return { stopped: false };
    }
    const { pid } = record;
    signalGroup(pid, 'SIGTERM');
    let killed = false;
    if (!(await waitForExit(pid, graceMs))) {
      killed = true;
      signalGroup(pid, 'SIGKILL');
      if (!(await waitForExit(pid, 5_000))) throw new Error(`service ${name} (pid ${pid}) did not exit even after SIGKILL`);
    }
    // Helpers in the group that ignored SIGTERM must not outlive the service. The group only: the
    // pid alone may already belong to another process.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
    await forget();
    return { stopped: true, pid, killed };
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal); // not a group leader any more
    } catch {
      // gone
    }
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}
