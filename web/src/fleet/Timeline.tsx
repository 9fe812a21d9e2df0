import type { ReactNode } from 'react';
import type { LogEntry } from './fleet-types.ts';
import { STEP_MEANING } from './fleet-types.ts';
import { earlierRuns, formatDuration, type StepRow, stepRows } from './timeline-model.ts';

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

/** Earlier runs, collapsed: each expands to its own entries. */
function EarlierRuns({ log }: { log: LogEntry[] }) {
  const runs = earlierRuns(log);
  if (runs.length === 0) return null;
  return (
    <div className="earlier" data-testid="earlier-runs">
      <h3>Earlier runs</h3>
      {runs.map(({ runId, entries }) => {
        const last = entries.at(-1)!;
        return (
          <details key={runId}>
            <summary>
              {runId}: ended with {last.step} {STATE_WORDS[last.status]}
            </summary>
            <ol className="plain">
              {entries
                .filter((e) => e.status !== 'running' || e.message !== null)
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
      })}
    </div>
  );
}
