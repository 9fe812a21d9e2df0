import type { Host } from '../hosts/host.ts';

/**
 * The size of a clone while git writes it. git has no size limit of its own, and a repository's
 * size is known only once it is fetched: so the clone's temp dir is measured (`du`, on the machine)
 * every `intervalMs`, and the clone is stopped as soon as it passes the cap, before it fills the
 * machine's disk.
 */

/** Bytes used by `rel` on the host (0 when it does not exist yet). */
export async function diskUsage(host: Host, rel: string): Promise<number> {
  const res = await host.exec('du', ['-sk', host.resolve(rel)], { timeoutMs: 30_000 }).catch(() => undefined);
  const kib = Number(res?.stdout.trim().split(/\s+/)[0]);
  return res?.code === 0 && Number.isFinite(kib) ? kib * 1024 : 0;
}

/** Calls `exceeded` once `rel` grows past `maxBytes`; `stop()` ends the watch. */
export function watchDiskUsage(host: Host, rel: string, maxBytes: number, exceeded: () => void, intervalMs = 250): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    if ((await diskUsage(host, rel)) > maxBytes) {
      stopped = true;
      exceeded();
      return;
    }
    if (!stopped) timer = setTimeout(tick, intervalMs);
  };
  timer = setTimeout(tick, intervalMs);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
