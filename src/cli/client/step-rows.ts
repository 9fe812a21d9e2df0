import { PROVISION_STEPS, type ProvisionStep } from '../../domain/steps.ts';
import type { FleetStatus, LogEntry } from './fleet-types.ts';

/** Where each step of the current run stands, read from a fleet's provision log. */
export type StepState = 'waiting' | 'running' | 'complete' | 'error' | 'queued';

export interface StepRow {
  step: ProvisionStep;
  state: StepState;
  message: string | null;
  durationMs: number | null;
  /** When its latest entry was written: a running step's elapsed time counts from it. */
  at: string | null;
}

/**
 * One row per step, from its latest log entry. Steps run in order, so every step after the one
 * written last has not run yet in this run, whatever an earlier run logged for it (a re-provision
 * with changed settings runs them again). A failed step of a fleet that is provisioning again is
 * queued for the retry that has not logged yet.
 */
export function stepRows(allEntries: readonly LogEntry[], fleetStatus: FleetStatus): StepRow[] {
  // The provisioning's steps only: the log also holds the steps of suspend, resume and the like.
  const isProvisionStep = (step: string): step is ProvisionStep => (PROVISION_STEPS as readonly string[]).includes(step);
  const log = allEntries.filter((e) => isProvisionStep(e.step));
  const latest = new Map<string, LogEntry>();
  for (const entry of log) latest.set(entry.step, entry);
  const last = log.at(-1);
  const current = last && isProvisionStep(last.step) ? PROVISION_STEPS.indexOf(last.step) : -1;
  return PROVISION_STEPS.map((step, i) => {
    const entry = latest.get(step);
    if (!entry || i > current) return { step, state: 'waiting', message: null, durationMs: null, at: null };
    let state: StepState = entry.status;
    if (state === 'error' && i === current && fleetStatus === 'provisioning') state = 'queued';
    return { step, state, message: entry.message, durationMs: entry.durationMs, at: entry.createdAt };
  });
}

/** `1.2s`, `3m 04s`: a duration as a person reads it. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}
