import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GcpWorld } from './gcp-vm.ts';

/**
 * Removes what the warm pool's "VMs" left on this machine: every VM of the stand-in is the test
 * user's home behind the loopback sshd, and deleting a VM there stops nothing. For each pooled VM
 * the stand-in was asked to insert (`fleetw-<hex>`, the pool row `wgw_<hex>`), its gateway is
 * stopped (by the pid in its service record) and its machine root and records are removed.
 */
export async function removePooledVms(world: GcpWorld): Promise<void> {
  const home = world.sshd.user.home;
  const names = world.gce
    .requestsTo('POST', '/instances')
    .filter((r) => r.path.endsWith('/instances'))
    .map((r) => (r.body as { name?: string }).name ?? '')
    .filter((n) => n.startsWith('fleetw-'));
  for (const name of new Set(names)) {
    const id = `wgw_${name.slice('fleetw-'.length)}`;
    const root = `${home}/fleets/.warm/${id}`;
    const records = path.join(home, '.fleet-services', `${id}-${createHash('sha256').update(root).digest('hex').slice(0, 8)}`);
    const pids = fs.existsSync(records)
      ? fs
          .readdirSync(records)
          .filter((f) => f.endsWith('.pid'))
          .map((f) => Number(fs.readFileSync(path.join(records, f), 'utf8').split(' ')[0]))
          .filter((pid) => pid > 1)
      : [];
    for (const pid of pids) await stop(pid);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(records, { recursive: true, force: true });
  }
}

async function stop(pid: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // its process group (services start with setsid)
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // gone already
      }
    }
  };
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  if (alive()) signal('SIGKILL');
}
