import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lazyChild } from './lazy-child.ts';
import { createLogger } from './logger.ts';

describe('lazyChild', () => {
  it('makes the child only when used, and it logs with the bindings', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const parent = createLogger('info', sink);
    let made = 0;
    const child = parent.child.bind(parent);
    parent.child = ((...args: Parameters<typeof child>) => {
      made++;
      return child(...args);
    }) as typeof parent.child;
    const log = lazyChild(parent, { requestId: 'req_1' });
    expect(made).toBe(0);
    expect(log.isLevelEnabled('info')).toBe(true);
    log.warn({ step: 'x' }, 'something');
    log.info('again');
    expect(made).toBe(1);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { requestId: 'req_1', step: 'x', msg: 'something' },
      { requestId: 'req_1', msg: 'again' },
    ]);
  });
});
