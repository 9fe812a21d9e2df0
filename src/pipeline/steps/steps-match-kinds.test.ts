import { describe, expect, it } from 'vitest';
import { RUN_KINDS } from '../../domain/run-kinds.ts';
import { LIFECYCLE_STEPS, LOCAL_STEPS } from './index.ts';

/** One source of step positions: the executor's lists and the domain's kinds must not disagree. */
describe('step lists', () => {
  it('match the kinds of run, name for name and in order', () => {
    expect(LOCAL_STEPS.map((s) => s.name)).toEqual([...RUN_KINDS.provision.steps]);
    for (const [kind, steps] of Object.entries(LIFECYCLE_STEPS)) {
      expect(steps.map((s) => s.name)).toEqual([...RUN_KINDS[kind as keyof typeof LIFECYCLE_STEPS].steps]);
    }
  });
});
