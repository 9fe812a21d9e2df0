import type { Db } from '../db/connection.ts';
import { databaseAnswers } from '../db/ping.ts';
import type { RunningWorker } from '../pipeline/worker.ts';
import type { ReadinessCheck } from './metrics-listener.ts';

/** A worker process is ready while its database answers and its workers run (a stopping one takes no new runs). */
export function workerReadiness(db: Db, worker: Pick<RunningWorker, 'isRunning'>): ReadinessCheck[] {
  return [
    { name: 'database', failure: 'the database does not answer within 2 s', check: () => databaseAnswers(db, 2000) },
    {
      name: 'workers',
      failure: 'the workers are stopping',
      check: () => {
        if (!worker.isRunning()) throw new Error('the workers are stopping');
      },
    },
  ];
}
