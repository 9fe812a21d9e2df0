import { describe, expect, it } from 'vitest';
import type { Fleet, LogEntry } from '../../src/cli/client/fleet-types.ts';
import { stepRows } from '../../src/cli/client/step-rows.ts';
import { PlainWatchView, renderFrame } from '../../src/cli/client/watch-views.ts';

/** What `fleet status --watch` draws for a fleet at a given moment (no server: the drawing alone). */
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 9, 0, s)).toISOString();
const entry = (step: LogEntry['step'], status: LogEntry['status'], s: number, extra: Partial<LogEntry> = {}): LogEntry => ({
  step,
  status,
  message: null,
  durationMs: null,
  createdAt: at(s),
  runId: 'run_1',
  ...extra,
});
const fleet = (status: Fleet['status'], provisionLog: LogEntry[]): Fleet => ({
  status,
  templateId: 'solo-engineer',
  dashboardUrl: null,
  agentSpecs: [{ name: 'cantona', role: 'engineer' }],
  repos: ['acme/api'],
  gcpResources: null,
  provisionLog,
  provisionLogSummary: null,
  createdAt: at(0),
  updatedAt: at(0),
});

describe('the steps of the current run', () => {
  it('shows a step after the one logged last as waiting, whatever an earlier run logged for it', () => {
    const log = [
      entry('vm_create', 'complete', 1, { durationMs: 100 }),
      entry('workspace_bootstrap', 'complete', 2, { durationMs: 200 }),
      entry('agent_config', 'error', 3, { message: 'bad' }),
      // A re-provision with changed settings runs workspace_bootstrap again.
      entry('workspace_bootstrap', 'running', 10),
    ];
    expect(stepRows(log, 'provisioning').map((r) => `${r.step}:${r.state}`)).toEqual([
      'vm_create:complete',
      'workspace_bootstrap:running',
      'agent_config:waiting',
      'gateway_start:waiting',
      'connectivity_check:waiting',
      'complete:waiting',
    ]);
  });

  it('shows a failed step queued while its retry has not logged yet', () => {
    const log = [entry('vm_create', 'complete', 1), entry('workspace_bootstrap', 'error', 2, { message: 'clone failed' })];
    expect(stepRows(log, 'provisioning')[1]!.state).toBe('queued');
    expect(stepRows(log, 'error')[1]!.state).toBe('error');
  });
});

describe('plain lines of a fleet first seen settled', () => {
  it('end on its status, as a script reading the last line expects', () => {
    const lines: string[] = [];
    new PlainWatchView((l) => lines.push(l)).finish(fleet('active', [entry('complete', 'complete', 9, { durationMs: 5 })]));
    expect(lines).toEqual([`${at(9)} complete complete (0.0s)`, 'status active: fleet is live and agents are running']);
  });
});

describe('a terminal frame', () => {
  const running = fleet('provisioning', [
    entry('vm_create', 'complete', 1, { durationMs: 1234, message: 'machine ready' }),
    entry('workspace_bootstrap', 'running', 2, { message: 'cloning repo 2 of 3' }),
  ]);

  it('spins on the running step with its latest message and elapsed time, and gives done steps their duration', () => {
    const frames = [0, 1].map((tick) => renderFrame(running, { tick, now: Date.parse(at(5)), colour: false }));
    expect(frames[0]![0]).toBe('fleet provisioning: VM spin-up and agent bootstrap in progress');
    expect(frames[0]![1]).toMatch(/^✓ vm_create +1\.2s +machine ready$/);
    expect(frames[0]![2]).toMatch(/^⠋ workspace_bootstrap +3\.0s +cloning repo 2 of 3$/);
    expect(frames[1]![2]).toMatch(/^⠙ workspace_bootstrap/); // the spinner turns
    expect(frames[0]![3]).toMatch(/^· agent_config$/);
    expect(frames[0]).toHaveLength(7);
  });

  it('shows a failed step with its error message, in red when colours are on', () => {
    const failed = fleet('error', [
      entry('vm_create', 'complete', 1, { durationMs: 10 }),
      entry('workspace_bootstrap', 'error', 2, { durationMs: 500, message: 'Could not clone acme/x' }),
    ]);
    const plain = renderFrame(failed, { tick: 0, now: 0, colour: false });
    expect(plain[0]).toBe('fleet error: provisioning failed; the failing step says why');
    expect(plain[2]).toMatch(/^✗ workspace_bootstrap +0\.5s +Could not clone acme\/x$/);
    const coloured = renderFrame(failed, { tick: 0, now: 0, colour: true });
    expect(coloured[2]).toContain('\u001b[31mCould not clone acme/x\u001b[0m');
  });
});

describe('plain lines (not a terminal)', () => {
  it('prints each new log entry and each status change once, the status after the entries that led to it', () => {
    const lines: string[] = [];
    const view = new PlainWatchView((l) => lines.push(l));
    const first = fleet('provisioning', [entry('vm_create', 'running', 1)]);
    view.update(first);
    view.update({ ...first, provisionLog: [...first.provisionLog, entry('vm_create', 'complete', 2, { durationMs: 900, message: 'ok' })] });
    view.finish({
      ...first,
      status: 'active',
      provisionLog: [...first.provisionLog, entry('vm_create', 'complete', 2, { durationMs: 900, message: 'ok' })],
    });
    expect(lines).toEqual([
      `${at(1)} vm_create running`,
      'status provisioning: VM spin-up and agent bootstrap in progress',
      `${at(2)} vm_create complete (0.9s): ok`,
      'status active: fleet is live and agents are running',
    ]);
  });
});
