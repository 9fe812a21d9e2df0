import { describe, expect, it } from 'vitest';
import {
  canTransition,
  FLEET_STATUSES,
  type FleetAction,
  IllegalTransitionError,
  illegalVerbMessage,
  transition,
  verbAllowed,
} from './fleet.ts';

describe('fleet state machine', () => {
  it('follows the fleet lifecycle (docs/architecture.md)', () => {
    expect(transition('pending', 'provision')).toBe('provisioning');
    expect(transition('provisioning', 'succeed')).toBe('active');
    expect(transition('provisioning', 'fail')).toBe('error');
    expect(transition('error', 'retry')).toBe('provisioning');
    expect(transition('active', 'suspended')).toBe('suspended');
    expect(transition('suspended', 'resumed')).toBe('active');
    // A suspend or resume run that failed is retried from error.
    expect(transition('error', 'suspended')).toBe('suspended');
    expect(transition('error', 'resumed')).toBe('active');
    // A lifecycle run that fails leaves the fleet in error, whatever it was.
    expect(transition('active', 'fail')).toBe('error');
    expect(transition('suspended', 'fail')).toBe('error');
  });

  it('refuses every other internal transition', () => {
    expect(() => transition('active', 'retry')).toThrow(IllegalTransitionError);
    const actions: FleetAction[] = ['provision', 'retry', 'succeed', 'fail', 'suspended', 'resumed'];
    const allowed = FLEET_STATUSES.flatMap((s) => actions.filter((a) => canTransition(s, a)).map((a) => `${s}:${a}`));
    expect(allowed.sort()).toEqual(
      [
        'pending:provision',
        'error:retry',
        'provisioning:succeed',
        'provisioning:fail',
        'active:fail',
        'suspended:fail',
        'error:fail',
        'active:suspended',
        'error:suspended',
        'suspended:resumed',
        'error:resumed',
      ].sort(),
    );
  });
});

describe('what callers may ask of a fleet', () => {
  it('names the status and what it allows in every refusal', () => {
    expect(illegalVerbMessage('retry', 'suspended')).toBe('Cannot retry: fleet is suspended; allowed: resume, deprovision.');
    expect(illegalVerbMessage('provision', 'active')).toBe(
      'Cannot provision: fleet is active; allowed: suspend, reconfigure, reprovision, deprovision.',
    );
    expect(illegalVerbMessage('suspend', 'error')).toBe(
      'Cannot suspend: fleet is in error; allowed: retry, provision, reconfigure, reprovision, deprovision.',
    );
    expect(illegalVerbMessage('deprovision', 'provisioning')).toBe('Cannot deprovision: fleet is provisioning; allowed: cancel.');
  });

  it('allows deprovision from every status but provisioning (cancel first), cancel only while provisioning', () => {
    expect(FLEET_STATUSES.filter((s) => verbAllowed(s, 'deprovision'))).toEqual(['pending', 'active', 'error', 'suspended']);
    expect(FLEET_STATUSES.filter((s) => verbAllowed(s, 'cancel'))).toEqual(['provisioning']);
    expect(FLEET_STATUSES.filter((s) => verbAllowed(s, 'resume'))).toEqual(['suspended']);
  });
});
