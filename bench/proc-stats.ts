/** What a benchmark reads from /proc: CPU time of a process or of the whole machine, resident memory, PostgreSQL's processes. */
import fs from 'node:fs';
import path from 'node:path';

/** CPU seconds of a process (user + system). */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy share of all CPUs over `ms`, from /proc/stat (every field but idle and iowait is busy). */
export async function busyShare(ms: number): Promise<number> {
  const read = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: f.reduce((a, b) => a + b, 0), idle: f[3]! + (f[4] ?? 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return 1 - (b.idle - a.idle) / Math.max(1, b.total - a.total);
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** The postmaster of a data dir (from its postmaster.pid), if it runs. */
export function postmasterPid(dataDir: string): number | undefined {
  const pidFile = fs.readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('postmaster.pid'));
  return pidFile ? Number(fs.readFileSync(path.join(dataDir, pidFile), 'utf8').split('\n')[0]) : undefined;
}

/**
 * CPU seconds of a PostgreSQL server: the postmaster, the backends that have exited (their time
 * is added to the postmaster's children's time when it reaps them), and the backends alive now.
 * Counting only the backends alive at the start missed the connections pools opened and closed later.
 */
export function postgresCpu(postmaster: number): number {
  const fields = fs.readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime (fields 14-17 of proc(5), counted from the state field here).
  let ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}
