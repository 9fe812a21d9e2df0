import { describe, expect, it } from 'vitest';
import { PROVISION_STEPS } from '../domain/steps.ts';
import { firstStepAffected, stepPosition } from './resume-point.ts';
import { LOCAL_STEPS } from './steps/index.ts';

/**
 * Provisioning a failed fleet again with corrected settings re-runs the steps from the first one
 * the change affects: too late and the fix is never applied, too early and work is redone.
 */
const NOTHING = { template: false, repos: false, gitToken: false, discord: false, missionControl: false };
const changed = (...fields: Array<keyof typeof NOTHING>) => ({ ...NOTHING, ...Object.fromEntries(fields.map((f) => [f, true])) });

describe('firstStepAffected', () => {
  it.each(['template', 'repos', 'gitToken'] as const)('a changed %s re-runs from workspace_bootstrap (the clones)', (field) => {
    expect(firstStepAffected(changed(field))).toBe('workspace_bootstrap');
  });

  it('changed Discord settings alone re-run from agent_config (openclaw.json holds the accounts)', () => {
    expect(firstStepAffected(changed('discord'))).toBe('agent_config');
  });

  it('changed Mission Control settings alone re-run from connectivity_check', () => {
    expect(firstStepAffected(changed('missionControl'))).toBe('connectivity_check');
  });

  it('nothing changed: null, a plain retry at the failed step', () => {
    expect(firstStepAffected(NOTHING)).toBeNull();
  });

  it('several changes: the earliest affected step wins', () => {
    expect(firstStepAffected(changed('discord', 'missionControl'))).toBe('agent_config');
    expect(firstStepAffected(changed('missionControl', 'gitToken'))).toBe('workspace_bootstrap');
    expect(firstStepAffected(changed('discord', 'repos'))).toBe('workspace_bootstrap');
    expect(firstStepAffected(changed('template', 'repos', 'gitToken', 'discord', 'missionControl'))).toBe('workspace_bootstrap');
  });

  it('never answers a step before workspace_bootstrap (the machine is kept) nor after connectivity_check', () => {
    const fields = Object.keys(NOTHING) as Array<keyof typeof NOTHING>;
    const positions = new Set<number>();
    for (let mask = 1; mask < 2 ** fields.length; mask++) {
      const step = firstStepAffected(changed(...fields.filter((_, i) => mask & (2 ** i))));
      expect(step).not.toBeNull();
      positions.add(stepPosition(step!));
    }
    expect([...positions].sort((a, b) => a - b)).toEqual([
      PROVISION_STEPS.indexOf('workspace_bootstrap'),
      PROVISION_STEPS.indexOf('agent_config'),
      PROVISION_STEPS.indexOf('connectivity_check'),
    ]);
    expect(Math.min(...positions)).toBeGreaterThan(PROVISION_STEPS.indexOf('vm_create'));
  });
});

describe('stepPosition', () => {
  it('is the index of the step in the order a run executes PROVISION_STEPS', () => {
    expect(PROVISION_STEPS.map(stepPosition)).toEqual(PROVISION_STEPS.map((_, i) => i));
    expect(stepPosition('vm_create')).toBe(0);
    expect(stepPosition('workspace_bootstrap')).toBe(1);
    expect(stepPosition('agent_config')).toBe(2);
    expect(stepPosition('gateway_start')).toBe(3);
    expect(stepPosition('connectivity_check')).toBe(4);
    expect(stepPosition('complete')).toBe(5);
  });

  it('matches the positions the executor checkpoints the real steps at (resume drops checkpoints by position)', () => {
    expect(LOCAL_STEPS.map((s) => s.name)).toEqual([...PROVISION_STEPS]);
    for (const [index, step] of LOCAL_STEPS.entries()) expect(stepPosition(step.name)).toBe(index);
  });

  it('orders the resume points the way a run reaches them', () => {
    expect(stepPosition('workspace_bootstrap')).toBeLessThan(stepPosition('agent_config'));
    expect(stepPosition('agent_config')).toBeLessThan(stepPosition('connectivity_check'));
  });
});
