import type { ReactNode } from 'react';
import type { LogEntry } from './fleet-types.ts';
import { STEP_MEANING } from './fleet-types.ts';
import { formatDuration, type OtherRun, otherRuns, type StepRow, stepRows } from './timeline-model.ts';

const STATE_WORDS: Record<StepRow['state'], string> = {
  waiting: 'waiting',
  running: 'running',
  complete: 'done',
  error: 'failed',
};

/**
 * The provisioning timeline: one row per step with its state and duration, the running step's
 * latest progress message, a failed step's message and (for those who may act) its Retry button.
 */
export function Timeline({ log, retry }: { log: LogEntry[]; retry: ReactNode }) {
  const rows = stepRows(log);
  return (
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Provisioning</h2>
      <ol className="timeline">
        {rows.map((row) => (
          <li key={row.step} className={`step step-${row.state}`} data-testid={`step-${row.step}`} data-state={row.state}>
            <span className="step-icon" aria-hidden="true" />
            <div className="step-body">
              <div className="step-head">
                <span className="step-name">{row.step}</span>
                <span className="step-state">{STATE_WORDS[row.state]}</span>
                {row.durationMs !== null && <span className="step-duration">{formatDuration(row.durationMs)}</span>}
              </div>
              <p className="step-what">{STEP_MEANING[row.step]}</p>
              {row.message && row.state !== 'waiting' && (
                <p className="step-message" data-testid={`step-message-${row.step}`} role={row.state === 'error' ? 'alert' : undefined}>
                  {row.message}
                </p>
              )}
              {row.state === 'error' && retry}
            </div>
          </li>
        ))}
      </ol>
      <EarlierRuns log={log} />
    </section>
  );
}

/** The other runs: earlier ones collapsed; later ones (suspend, resume…) after them, the newest open. */
function EarlierRuns({ log }: { log: LogEntry[] }) {
  const { earlier, later } = otherRuns(log);
  return (
    <>
      {later.length > 0 && (
        <div className="earlier" data-testid="later-runs">
          <h3>Since provisioning</h3>
          {later.map((run, i) => (
            <RunDetails key={run.runId} run={run} open={i === later.length - 1} />
          ))}
        </div>
      )}
      {earlier.length > 0 && (
        <div className="earlier" data-testid="earlier-runs">
          <h3>Earlier runs</h3>
          {earlier.map((run) => (
            <RunDetails key={run.runId} run={run} open={false} />
          ))}
        </div>
      )}
    </>
  );
}

function RunDetails({ run, open }: { run: OtherRun; open: boolean }) {
  const last = run.entries.at(-1)!;
  const ended = last.status === 'running' ? `at ${last.step}` : `ended with ${last.step} ${STATE_WORDS[last.status]}`;
  return (
    <details open={open}>
      <summary>
        {run.runId}: {ended}
      </summary>
      <ol className="plain">
        {run.entries
          .filter((e) => e.status !== 'running' || e.message !== null || e === last)
          .map((e) => (
            <li key={`${e.createdAt}-${e.step}-${e.status}`} className={`entry entry-${e.status}`}>
              <span className="step-name">{e.step}</span> {STATE_WORDS[e.status]}
              {e.durationMs !== null && ` · ${formatDuration(e.durationMs)}`}
              {e.message && ` · ${e.message}`}
            </li>
          ))}
      </ol>
    </details>
  );
}
