import type { Logger } from '../observability/logger.ts';

/**
 * The rhythm every warm pool shares (the local one, warm-pool.ts, and the GCP one,
 * warm-vm-pool.ts): one pass at a time, every few seconds and whenever a claim asks, and a stop
 * that waits for the pass under way.
 */
export interface WarmPool {
  /** Asks for a pass soon (a claim just took a gateway). */
  refill(): void;
  /** The pass under way, if any, and the next one it triggers: tests wait on it. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** How often a pass runs when nothing asks for one. */
const PASS_MS = 5000;

/** The pools of this process: a claim made here asks them to refill at once, not at their next pass. */
const livePools = new Set<WarmPool>();

/** Asks this process's pools to top up now (a claim just took a gateway). */
export function refillWarmPools(): void {
  for (const pool of livePools) pool.refill();
}

/**
 * Runs `onePass` as a pool's passes until stopped; `afterStop` runs once the last pass ended
 * (`stopping` is aborted before, so a pass in flight gives up its long waits).
 */
export function runWarmPasses(opts: {
  onePass: () => Promise<void>;
  stopping: AbortController;
  log: Logger;
  afterStop: () => Promise<void>;
}): WarmPool {
  const { stopping, log } = opts;
  let pass: Promise<void> = Promise.resolve();
  let again = false;
  let running = false;

  const schedule = () => {
    if (stopping.signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    pass = (async () => {
      do {
        again = false;
        await opts.onePass().catch((err: unknown) => log.warn({ err }, 'warm pool pass failed'));
      } while (again && !stopping.signal.aborted);
      running = false;
    })();
  };

  const timer = setInterval(schedule, PASS_MS);
  timer.unref();
  schedule();

  const pool: WarmPool = {
    refill: schedule,
    settled: async () => {
      while (running) await pass;
    },
    stop: async () => {
      livePools.delete(pool);
      clearInterval(timer);
      stopping.abort(new Error('the process is stopping'));
      await pass;
      await opts.afterStop();
    },
  };
  livePools.add(pool);
  return pool;
}
