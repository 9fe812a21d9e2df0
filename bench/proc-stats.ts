/** What a benchmark reads about other processes from /proc: CPU time, resident memory, PostgreSQL's processes. */
import fs from 'node:fs';
import path from 'node:path';

/** CPU seconds of a process (user + system). */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of several processes; one that is gone counts nothing. */
export function processesCpu(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + cpuSeconds(pid);
    } catch {
      return sum;
    }
  }, 0);
}

/** Resident memory of a process, in MB. */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** The PostgreSQL server of a data dir and its backends: the postmaster named in postmaster.pid, and its children. */
export function postgresPids(dataDir: string): number[] {
  const pidFile = fs.readdirSync(dataDir, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('postmaster.pid'));
  if (!pidFile) return [];
  const postmaster = Number(fs.readFileSync(path.join(dataDir, pidFile), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
