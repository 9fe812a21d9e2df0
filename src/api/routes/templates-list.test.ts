import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/harness/app.ts';
import { describeSessionRouteSecurity } from '../../../test/harness/security.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('GET /api/templates', () => {
  it('lists the templates with their agents', async () => {
    const res = await t.request('/api/templates', { token: t.token({ userId: 'user_t' }) });
    const body = (await res.json()) as { templates: Array<{ id: string; agents: unknown[] }> };
    expect(body.templates.map((x) => [x.id, x.agents.length])).toEqual([
      ['solo-engineer', 1],
      ['standard-7-agent', 7],
    ]);
  });
});
describeSessionRouteSecurity({ method: 'GET', path: '/api/templates' }, () => t);
