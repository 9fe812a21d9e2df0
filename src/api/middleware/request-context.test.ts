import { describe, expect, it } from 'vitest';
import { requestIdOf } from './request-context.ts';

describe('requestIdOf', () => {
  it('keeps a sane X-Request-Id and makes a new, distinct id for a missing or unsafe one', () => {
    expect(requestIdOf('trace-1.a:b_c')).toBe('trace-1.a:b_c');
    const made = Array.from({ length: 1000 }, (_, i) => requestIdOf(i % 2 ? undefined : 'bad id\nwith newline'));
    expect(new Set(made).size).toBe(1000);
    for (const id of made) expect(id).toMatch(/^req_[a-z0-9]{12}[a-z0-9]+$/);
    expect(requestIdOf('x'.repeat(129))).toMatch(/^req_/);
  });
});
