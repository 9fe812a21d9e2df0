import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../harness/app.ts';

/**
 * The answers the server gives before any route (405, 408, 413, 415, 431) are in the OpenAPI
 * document on every operation they can answer, and what the document says matches what is answered.
 */
type Response = { description: string; content?: Record<string, { schema: { $ref?: string } }>; headers?: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, Response> }>> };

let t: TestApp;
let doc: Doc;
beforeAll(async () => {
  t = await createTestApp();
  doc = (await (await t.request('/api/openapi.json')).json()) as Doc;
});
afterAll(() => t.close());

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

describe('protocol answers in the OpenAPI document', () => {
  it('every operation describes 405, 408 and 431 as the error envelope; 405 with its Allow header', () => {
    expect(operations().length).toBeGreaterThan(20);
    for (const { op } of operations()) {
      for (const status of ['405', '408', '431']) {
        expect(op.responses[status]?.content?.['application/json']?.schema.$ref, `${op.operationId} ${status}`).toBe(
          '#/components/schemas/Error',
        );
      }
      expect(op.responses['405']?.headers, op.operationId).toHaveProperty('Allow');
    }
  });

  it('every operation that may carry a body describes 413 and 415; GETs do not', () => {
    for (const { method, op } of operations()) {
      const body = method !== 'get';
      expect('413' in op.responses && '415' in op.responses, `${op.operationId} (${method})`).toBe(body);
    }
  });
});

describe('what the document says is what the server answers', () => {
  it('405 with Allow on a method the path does not take', async () => {
    const res = await t.request('/api/fleet', { method: 'PUT', token: t.token({ userId: 'user_p' }) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('415 for a body that is not JSON on every operation with a body', async () => {
    const token = t.token({ userId: 'user_body' });
    for (const { path, method } of operations().filter((o) => o.method !== 'get')) {
      const concrete = path.replace(/\{[^}]+\}/g, 'acme');
      const res = await t.request(concrete, {
        method: method.toUpperCase(),
        token,
        platform: true,
        headers: { 'content-type': 'text/plain' },
        body: 'hi',
      });
      expect(res.status, `${method} ${path}`).toBe(415);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    }
  });
});
