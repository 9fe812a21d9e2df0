import { sql } from 'kysely';
import { limitsOf, type Plan, type PlanLimits } from '../domain/plans.ts';
import type { Db } from './connection.ts';
import { relaxedCommit } from './relaxed-commit.ts';
import { claimRun, type RunRow } from './runs.ts';

/**
 * Claims a run unless its requester already has as many runs at work as the tenant's plan allows
 * (`concurrentRuns`), so one user with many tenants cannot hold every worker slot while another
 * tenant's run waits. Claims of one requester take an advisory lock in turn, so two workers cannot
 * both see "one slot left" and take it twice. A run of a silent worker (heartbeat older than
 * `staleAfterSeconds`) does not count: it is about to be resumed, not at work.
 *
 * 'requester-busy': the run stays queued (its "re-enqueued at" stamp renewed, so the watchdog does
 * not add jobs for it while it waits); the caller offers it again a little later.
 *
 * 'other-host': the run's fleet has a local-driver machine on another host, which this worker
 * cannot reach; the run is left as it is, for that host's workers. The first claim of a local
 * fleet's run records this host as its machine's, in the same commit.
 */
export async function claimRunFairly(
  db: Db,
  runId: string,
  worker: string,
  staleAfterSeconds: number,
  planLimits: Record<Plan, PlanLimits>,
  hostId: string,
): Promise<RunRow | 'requester-busy' | 'other-host' | undefined> {
  // Joins the caller's transaction when there is one; its own otherwise.
  const inTransaction = <T>(work: (trx: Db) => Promise<T>) => (db.isTransaction ? work(db) : db.transaction().execute(work));
  return inTransaction(async (trx) => {
    // A claim lost in a database crash is a run queued again (relaxed-commit.ts): no WAL flush wait.
    const { rows } = await sql<{
      requested_by: string | null;
      plan: string;
      queued: boolean;
      fleet_id: string;
      local: boolean;
      machine_host: string | null;
    }>`
      SELECT r.requested_by, t.plan, r.status = 'queued' AS queued, f.id AS fleet_id,
             f.compute_driver = 'local' AS local, f.machine_host, ${relaxedCommit} AS relaxed
        FROM provision_runs r JOIN fleets f ON f.id = r.fleet_id JOIN tenants t ON t.id = f.tenant_id
       WHERE r.id = ${runId}
         FOR UPDATE OF f`.execute(trx);
    // The fleet's row is locked first, in the same round trip, before the requester's advisory lock
    // and the run's row: the order the services lock them in (a cancel racing a claim that binds the
    // fleet to this host would otherwise deadlock with it), and every claim takes them in this order.
    const found = rows[0];
    if (found?.local && found.machine_host !== null && found.machine_host !== hostId) return 'other-host';
    const binds = found?.local === true && found.machine_host === null;
    const queued = found?.queued ? found : undefined;
    if (queued?.requested_by) {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`fair-claim:${queued.requested_by}`}, 0))`.execute(trx);
      const { rows: busy } = await sql<{ running: number }>`
        SELECT count(*)::int AS running FROM provision_runs
         WHERE requested_by = ${queued.requested_by} AND status = 'running' AND id <> ${runId}
           AND heartbeat_at >= now() - make_interval(secs => ${staleAfterSeconds})`.execute(trx);
      if ((busy[0]?.running ?? 0) >= limitsOf(planLimits, queued.plan).concurrentRuns) {
        await trx
          .updateTable('provision_runs')
          .set({ heartbeat_at: sql`now()` })
          .where('id', '=', runId)
          .where('status', '=', 'queued')
          .execute();
        return 'requester-busy';
      }
    }
    // Not queued (running with a silent owner, or finished): the plain claim decides.
    return claimRun(trx, runId, worker, staleAfterSeconds, binds ? { fleetId: found.fleet_id, hostId } : undefined);
  });
}
