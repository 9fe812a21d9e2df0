import { PROVISION_STEPS, type ProvisionStep } from '../../../src/domain/steps.ts';
import type { LogEntry } from './fleet-types.ts';

export type StepState = 'waiting' | 'running' | 'complete' | 'error';

export interface StepRow {
  step: ProvisionStep;
  state: StepState;
  /** For a running step its latest progress message; for a finished one its final message. */
  message: string | null;
  durationMs: number | null;
  /** When the step's latest attempt started (its latest `running` entry without a message). */
  startedAt: string | null;
}

/**
 * One row per step, in run order, from the whole provision log (every run, oldest first): a step
 * is what its latest entry says, so a retried step shows its new attempt and steps completed by an
 * earlier run stay complete.
 */
export function stepRows(log: LogEntry[]): StepRow[] {
  return PROVISION_STEPS.map((step) => {
    const entries = log.filter((e) => e.step === step);
    const last = entries.at(-1);
    if (!last) return { step, state: 'waiting', message: null, durationMs: null, startedAt: null };
    const started = [...entries].reverse().find((e) => e.status === 'running' && e.message === null);
    return {
      step,
      state: last.status,
      message: last.message,
      durationMs: last.status === 'running' ? null : last.durationMs,
      startedAt: started?.createdAt ?? null,
    };
  });
}

/** The provision log with `entry` appended, unless it is already there (a live event can repeat a refetched one). */
export function withEntry(log: LogEntry[], entry: LogEntry): LogEntry[] {
  const same = (e: LogEntry) =>
    e.step === entry.step && e.status === entry.status && e.createdAt === entry.createdAt && e.message === entry.message;
  return log.some(same) ? log : [...log, entry];
}

/** "850 ms", "12.3 s", "2 min 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

const isProvisionStep = (step: string): step is ProvisionStep => (PROVISION_STEPS as readonly string[]).includes(step);

export interface OtherRun {
  runId: string;
  entries: LogEntry[];
}

/**
 * The runs besides the one the step rows show (the latest provision run), oldest first: those
 * before it (earlier provision attempts, lifecycle runs) and those after it (suspend, resume,
 * deprovision), which a tenant should see without digging, since they are what happened last.
 */
export function otherRuns(log: LogEntry[]): { earlier: OtherRun[]; later: OtherRun[] } {
  const current = [...log].reverse().find((e) => isProvisionStep(e.step))?.runId ?? null;
  const runs = new Map<string, LogEntry[]>();
  for (const e of log) {
    if (e.runId === null || e.runId === current) continue;
    runs.set(e.runId, [...(runs.get(e.runId) ?? []), e]);
  }
  const currentAt = current === null ? -1 : log.findIndex((e) => e.runId === current);
  const earlier: OtherRun[] = [];
  const later: OtherRun[] = [];
  for (const [runId, entries] of runs) {
    (log.indexOf(entries[0]!) > currentAt && currentAt >= 0 ? later : earlier).push({ runId, entries });
  }
  return { earlier, later };
}
