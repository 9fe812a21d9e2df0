import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, getWithRetry, type FetchLike, type GetRequest } from '../../src/connectivity/http.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import { expectNoSecrets, failureOf } from './helpers.ts';

const SECRET = 'tok_abcdef0123456789';

/** A fetch that answers from a script, one entry per call; recording each call's headers. */
function scripted(...answers: Array<Response | Error>): FetchLike & { calls: number } {
  const f = Object.assign(
    async (_url: string, _init: RequestInit) => {
      const next = answers[Math.min(f.calls++, answers.length - 1)]!;
      if (next instanceof Error) throw next;
      return next.clone();
    },
    { calls: 0 },
  );
  return f;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const request = (fetchImpl: FetchLike, overrides: Partial<GetRequest> = {}): GetRequest => ({
  url: 'http://127.0.0.1:9/x',
  headers: { Authorization: `Bearer ${SECRET}` },
  what: 'Test GET /x',
  secrets: [SECRET],
  quoteBodies: true,
  fetchImpl,
  policy: { ...DEFAULT_POLICY, backoffBaseMs: 1 },
  ...overrides,
});

describe('getWithRetry', () => {
  it('honours a Retry-After header when the body has no retry_after', async () => {
    const f = scripted(json(429, { message: 'slow down' }, { 'retry-after': '0.05' }), json(200, { ok: true }));
    const started = Date.now();
    expect((await getWithRetry(request(f))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(f.calls).toBe(2);
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const when = new Date(Date.now() + 120_000).toUTCString();
    const e = await failureOf(() => getWithRetry(request(scripted(json(429, {}, { 'retry-after': when })))));
    expect(e).toBeInstanceOf(TransientError);
    expect((e as TransientError).retryAfterMs).toBeGreaterThan(100_000);
  });

  it('hands back 4xx answers for the caller to word', async () => {
    const reply = await getWithRetry(request(scripted(json(404, { message: 'Unknown Guild', code: 10004 }))));
    expect(reply).toMatchObject({ status: 404, body: { message: 'Unknown Guild', code: 10004 } });
  });

  it('removes a secret a server echoes back', async () => {
    const f = scripted(json(400, { message: `bad header Bearer ${SECRET}` }));
    const reply = await getWithRetry(request(f));
    expect(reply.body).toEqual({ message: 'bad header Bearer [redacted]' });
    const e = await failureOf(() =>
      getWithRetry(request(scripted(new Response(`oops ${SECRET}`, { status: 502 })), { policy: { ...DEFAULT_POLICY, maxRetries: 0 } })),
    );
    expect(e.message).toBe('Test GET /x failed: the server answered 502: "oops [redacted]".');
    expectNoSecrets(e, [SECRET]);
  });

  it('treats a refused certificate as terminal', async () => {
    const tls = new TypeError('fetch failed', { cause: Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }) });
    const f = scripted(tls);
    const e = await failureOf(() => getWithRetry(request(f)));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain("the server's TLS certificate was refused (CERT_HAS_EXPIRED)");
    expect(f.calls).toBe(1);
  });

  it("stops at once when the caller cancels, with the caller's reason", async () => {
    const controller = new AbortController();
    const f = scripted(json(503, {}));
    const pending = getWithRetry(request(f, { signal: controller.signal, policy: { ...DEFAULT_POLICY, backoffBaseMs: 10_000 } }));
    setTimeout(() => controller.abort(new Error('worker shutting down')), 20);
    const e = await failureOf(() => pending);
    expect(e.message).toBe('worker shutting down');
    expect(f.calls).toBe(1);
  });
});
