import type { ReconcileConfig } from '../config.ts';
import type { Db } from '../db/connection.ts';
import {
  failBrokenFleet,
  logReconcile,
  type ReconcilableFleet,
  reconcilableFleets,
  recordHealth,
  someRunAtWork,
} from '../db/fleet-health.ts';
import { withReconcileLock } from '../db/reconcile-lock.ts';
import { fleetIsUnhealthy } from '../domain/fleet-health.ts';
import type { Logger } from '../observability/logger.ts';
import { observeFleet } from './observe-fleet.ts';
import { reconcileOrphans } from './orphans.ts';
import { stepPosition } from './resume-point.ts';
import type { PipelineSettings } from './settings.ts';
import { GATEWAY_LOG_REL } from './steps/machine.ts';

/**
 * The one loop that compares desired and observed state. Every pass, under a lock that one process
 * at a time holds: each fleet meant to run (`active`, desired `running`) is looked at; a gateway
 * that died is started again; a machine gone or a gateway unhealthy for `unhealthyChecks` passes in
 * a row moves the fleet to `error` with a log entry saying what was found and what to do. Then the
 * machines no fleet owns are listed (and deleted only when told to). A fleet whose desired state
 * is not `running` is never looked at, so nothing of it is ever started ("stopped means stopped").
 */
export interface ReconcilerDeps {
  db: Db;
  settings: PipelineSettings;
  log: Logger;
  config: ReconcileConfig;
  /** How a fleet is looked at (tests wrap it to watch the pass); observeFleet otherwise. */
  observe?: typeof observeFleet;
}

/** Without a setting: a pass over many fleets must not take a real health check's seconds per fleet, one after another. */
const DEFAULT_CONCURRENCY = 8;

export interface PassResult {
  fleets: number;
  restarted: number;
  failed: number;
  orphans: number;
}

/** One pass; null when another reconciler holds the lock (it does the work). */
export async function reconcileOnce(deps: ReconcilerDeps): Promise<PassResult | null> {
  const outcome = await withReconcileLock(deps.db, async () => {
    const fleets = await reconcilableFleets(deps.db);
    const result: PassResult = { fleets: fleets.length, restarted: 0, failed: 0, orphans: 0 };
    // A real `openclaw health` takes seconds: fleets are looked at side by side, at most
    // `concurrency` at once (each one's own steps stay in order), so a pass over many fleets takes
    // their count over the concurrency times one check, not their sum.
    let next = 0;
    const lookAtNext = async () => {
      while (next < fleets.length) {
        const fleet = fleets[next++]!;
        // One bad fleet never stops the pass.
        try {
          const verdict = await reconcileFleet(deps, fleet);
          if (verdict === 'restarted') result.restarted++;
          if (verdict === 'failed') result.failed++;
        } catch (err) {
          deps.log.error({ err, fleetId: fleet.id }, 'reconciling a fleet failed; it is looked at again next pass');
        }
      }
    };
    const lanes = Math.min(deps.config.concurrency ?? DEFAULT_CONCURRENCY, fleets.length);
    await Promise.all(Array.from({ length: lanes }, lookAtNext));
    try {
      result.orphans = (await reconcileOrphans(deps)).length;
    } catch (err) {
      deps.log.warn({ err }, 'listing orphan machines failed; trying again next pass');
    }
    return result;
  });
  return outcome.ran ? outcome.result : null;
}

async function reconcileFleet(deps: ReconcilerDeps, fleet: ReconcilableFleet): Promise<'ok' | 'restarted' | 'unhealthy' | 'failed'> {
  const { db, log } = deps;
  const seen = await (deps.observe ?? observeFleet)(db, deps.settings, fleet);
  const unhealthy = fleetIsUnhealthy(seen.report);
  if (seen.restartedPid !== undefined) {
    log.info({ fleetId: fleet.id, pid: seen.restartedPid }, 'the gateway of a running fleet had stopped; started it again');
    await logReconcile(db, fleet, 'complete', `The gateway had stopped (found by the reconciler); it was started again and is healthy.`);
  } else if (seen.restartError !== undefined) {
    log.warn({ fleetId: fleet.id, error: seen.restartError }, 'the gateway of a running fleet had stopped and did not start again');
  }
  const failedChecks = await recordHealth(db, fleet.id, seen.report, unhealthy);
  if (!unhealthy) return seen.restartedPid !== undefined ? 'restarted' : 'ok';
  if (failedChecks === null || failedChecks < deps.config.unhealthyChecks) return 'unhealthy';

  const machineGone = seen.report.machine.state === 'failing';
  const found = machineGone ? seen.report.machine.lastError : seen.report.gateway.lastError;
  const text = machineGone
    ? `The reconciler found this fleet's machine not running in ${failedChecks} checks in a row (${found}). ` +
      'Retry the fleet to build the machine again from vm_create; if the retry fails, deprovision the fleet and provision it again.'
    : `The reconciler found this fleet's gateway unhealthy in ${failedChecks} checks in a row (${found}). ` +
      `Retry the fleet to start the gateway again from gateway_start; the gateway log is ${GATEWAY_LOG_REL}.`;
  const moved = await failBrokenFleet(db, fleet, text, stepPosition(machineGone ? 'vm_create' : 'gateway_start'));
  if (!moved) return 'unhealthy';
  log.warn({ fleetId: fleet.id, failedChecks, found }, 'moved a broken fleet to error');
  return 'failed';
}

export interface RunningReconciler {
  stop(): Promise<void>;
}

/**
 * Runs a pass now and then every `intervalSeconds` (a fifth of it while some fleet is changing,
 * so a fleet that just became active is looked at soon). Passes never overlap in this process.
 */
export function startReconciler(deps: ReconcilerDeps): RunningReconciler {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const intervalMs = deps.config.intervalSeconds * 1000;

  const pass = async () => {
    try {
      const result = await reconcileOnce(deps);
      if (result) deps.log.debug({ ...result }, 'reconciler pass done');
    } catch (err) {
      deps.log.warn({ err }, 'reconciler pass failed; trying again later');
    }
    if (stopped) return;
    const busy = await someRunAtWork(deps.db).catch(() => false);
    timer = setTimeout(tick, busy ? intervalMs / 5 : intervalMs);
    timer.unref();
  };
  const tick = () => {
    current = pass();
  };
  tick();
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      // A pass restarting a gateway is not waited for long: the next reconciler redoes it.
      await Promise.race([current, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}
