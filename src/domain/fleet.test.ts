import { describe, expect, it } from 'vitest';
import { canTransition, FLEET_STATUSES, IllegalTransitionError, transition } from './fleet.ts';

describe('fleet state machine', () => {
  it('follows the fleet lifecycle (docs/architecture.md)', () => {
    expect(transition('pending', 'provision')).toBe('provisioning');
    expect(transition('provisioning', 'succeed')).toBe('active');
    expect(transition('provisioning', 'fail')).toBe('error');
    expect(transition('error', 'retry')).toBe('provisioning');
    expect(transition('active', 'suspend')).toBe('suspended');
    expect(transition('suspended', 'resume')).toBe('active');
  });

  it('refuses everything else with a message saying what is allowed', () => {
    expect(() => transition('active', 'retry')).toThrow(IllegalTransitionError);
    expect(() => transition('active', 'retry')).toThrow(
      "Cannot retry a fleet that is 'active': retry is only allowed when the fleet is 'error'.",
    );
    const allowed = FLEET_STATUSES.flatMap((s) =>
      (['provision', 'retry', 'succeed', 'fail', 'suspend', 'resume'] as const).filter((a) => canTransition(s, a)).map((a) => `${s}:${a}`),
    );
    expect(allowed.sort()).toEqual(
      ['active:suspend', 'error:retry', 'pending:provision', 'provisioning:fail', 'provisioning:succeed', 'suspended:resume'].sort(),
    );
  });
});
