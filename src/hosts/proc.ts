/**
 * Process liveness on this host, used by the runtime install lock and LocalHost's services. Both
 * outlive the process that wrote them, so "is that pid still the same process?" has to survive pid
 * reuse and zombies.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * True when `pid` is a live (non-zombie) process on this host. A detached gateway that was killed
 * but not yet reaped by its parent stays a zombie for a moment, and `kill(pid, 0)` still succeeds
 * on a zombie, so /proc is checked too when it exists.
 */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readProcStat(pid);
  return stat === undefined || stat.state !== 'Z';
}

/**
 * The process start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined
 * where /proc is not available. Stored beside a pid so that a reused pid is not mistaken for the
 * process that wrote the file.
 */
export function processStartTime(pid: number): number | undefined {
  return readProcStat(pid)?.startTime;
}

function readProcStat(pid: number): { state: string; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '';
  const startTime = Number(rest[19]);
  return { state, startTime: Number.isFinite(startTime) ? startTime : NaN };
}

/**
 * Pids of the processes whose working directory is `dir` or below it (Linux /proc; empty
 * elsewhere). Used to find what a killed installer left running in its temp dir.
 */
export function processesWorkingUnder(dir: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to inspect
    }
  }
  return pids;
}
