import fs from 'node:fs';

/** Looking at other processes through /proc (Linux), for tests about what `ps` would show. */

/** Command lines of all processes that contain any of `needles`. */
export function cmdlinesContaining(needles: string[]): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // exited meanwhile
    }
    if (needles.some((n) => cmdline.includes(n))) found.push(`${pid}: ${cmdline}`);
  }
  return found;
}
