/**
 * The one HTTP GET the connectivity checks make: a timeout on every attempt, retries for what may
 * pass (timeouts, connection failures, 5xx, 429 with its retry_after), and errors that never carry
 * a secret. Anything else (2xx, 3xx, 4xx) is handed back for the caller to interpret, because only
 * the caller knows what a 401 or a 404 means for the user.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TerminalError, TransientError } from '../domain/step-errors.ts';

/** The part of `fetch` we use; global `fetch` satisfies it, tests may pass a wrapper. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Per attempt, covering the response body too. */
  timeoutMs: number;
  /** Attempts after the first one. */
  maxRetries: number;
  /** First backoff delay; doubles per attempt, with jitter, capped at 8 s. */
  backoffBaseMs: number;
  /**
   * A 429 asking us to wait longer than this is not slept through: we throw a TransientError with
   * `retryAfterMs` so the durable executor schedules the retry instead of a worker sitting idle.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_POLICY: RetryPolicy = { timeoutMs: 10_000, maxRetries: 3, backoffBaseMs: 500, maxRetryAfterMs: 15_000 };

export interface GetRequest {
  url: string;
  headers: Record<string, string>;
  /** Names the request in messages, e.g. "Discord GET /users/@me for agent 'cantona'". No secrets. */
  what: string;
  /** Every secret that could be echoed back by a server; removed from any text we keep. */
  secrets: readonly string[];
  /**
   * Whether messages may quote the server's error text. Only for servers the operator chose
   * (Discord's API): what a tenant-chosen server answers never reaches the log, or the control
   * plane would read internal pages aloud for whoever named them.
   */
  quoteBodies: boolean;
  fetchImpl: FetchLike;
  policy: RetryPolicy;
  /** Cancels the whole exchange (worker shutting down); its reason is rethrown as is. */
  signal?: AbortSignal;
}

export interface Reply {
  status: number;
  headers: Headers;
  /** Parsed JSON when the body is JSON, otherwise the text (redacted, at most 500 chars). */
  body: unknown;
  elapsedMs: number;
}

// Certificate failures do not heal by retrying; the user has to fix the URL or the certificate.
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
]);

/** What is read of a response body at most: health and Discord answers are small; a larger one is cut. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * GETs `req.url`, retrying transient failures; returns the first reply that is not 429, 5xx or a
 * redirect (redirects are never followed: a TerminalError says so).
 */
export async function getWithRetry(req: GetRequest): Promise<Reply> {
  const { policy, what } = req;
  for (let attempt = 0; ; attempt++) {
    const canRetry = attempt < policy.maxRetries;
    let reply: Reply;
    try {
      reply = await getOnce(req);
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      const refused = refusalIn(err);
      if (refused) {
        throw new TerminalError(`${what} was not sent: ${refused}. Use the service's public https address and provision again.`);
      }
      const code = errorCode(err);
      if (code !== undefined && TLS_CODES.has(code)) {
        throw new TerminalError(
          `${what} failed: the server's TLS certificate was refused (${code}). Check that the URL names the right host and that its certificate is valid, then provision again.`,
          { cause: err },
        );
      }
      if (!canRetry) {
        throw new TransientError(`${what} failed: ${describeFailure(err, policy.timeoutMs)}.`, { cause: err });
      }
      await pause(backoffMs(attempt, policy), req.signal);
      continue;
    }
    if (reply.status === 429) {
      const wait = retryAfterMs(reply) ?? backoffMs(attempt, policy);
      if (!canRetry || wait > policy.maxRetryAfterMs) {
        throw new TransientError(
          `${what} was rate limited (429); the server asks to wait ${wait < 1000 ? `${wait} ms` : `${Math.ceil(wait / 1000)} s`}.`,
          { retryAfterMs: wait },
        );
      }
      await pause(wait, req.signal);
      continue;
    }
    if (reply.status >= 500) {
      if (!canRetry) {
        throw new TransientError(`${what} failed: the server answered ${reply.status}${req.quoteBodies ? detail(reply) : ''}.`);
      }
      await pause(backoffMs(attempt, policy), req.signal);
      continue;
    }
    if (reply.status >= 300 && reply.status < 400) {
      throw new TerminalError(
        `${what} answered with a redirect (${reply.status}), and redirects are not followed. Use the address the server redirects to (its final https address) and provision again.`,
      );
    }
    return reply;
  }
}

/** Sleeps, but a cancelled caller gets its own abort reason, not a generic AbortError. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  }
}

async function getOnce(req: GetRequest): Promise<Reply> {
  const timeout = AbortSignal.timeout(req.policy.timeoutMs);
  const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
  const started = performance.now();
  const res = await req.fetchImpl(req.url, { method: 'GET', headers: req.headers, signal, redirect: 'manual' });
  // Read under the same signal, so a server that stalls mid-body also times out. Secrets are cut
  // out before parsing, so nothing derived from the body can carry one.
  const text = redact(await boundedText(res, MAX_RESPONSE_BYTES), req.secrets);
  let body: unknown = text.slice(0, 500);
  if (/^\s*[{[]/.test(text)) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text: a proxy's error page is still worth showing
    }
  }
  return { status: res.status, headers: res.headers, body, elapsedMs: Math.round(performance.now() - started) };
}

/** The body as text, at most `maxBytes` of it: a server cannot make us hold an endless answer. */
async function boundedText(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
}

/** The refusal of outbound-fetch.ts, wherever fetch wrapped it. */
function refusalIn(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'EOUTBOUND_REFUSED') return (e as Error).message;
  }
  return undefined;
}

/** Seconds from Discord's JSON `retry_after` (precise, fractional) or else the `Retry-After` header. */
function retryAfterMs(reply: Reply): number | undefined {
  const fromBody = isRecord(reply.body) ? reply.body.retry_after : undefined;
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) return Math.ceil(fromBody * 1000);
  const header = reply.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header); // RFC 9110 also allows an HTTP date
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function backoffMs(attempt: number, policy: RetryPolicy): number {
  const exp = Math.min(8_000, policy.backoffBaseMs * 2 ** attempt);
  return Math.round(exp / 2 + (Math.random() * exp) / 2); // jitter, so many workers do not retry in step
}

function describeFailure(err: unknown, timeoutMs: number): string {
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = errorCode(err);
  return code ? `could not connect (${code})` : `could not connect (${err instanceof Error ? err.message : 'unknown error'})`;
}

/** undici wraps the socket error: `TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })`. */
function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A short, redacted rendering of an error body for messages: `: "Missing Access" (code 50001)`. */
export function detail(reply: Reply): string {
  const b = reply.body;
  if (isRecord(b)) {
    const msg = typeof b.message === 'string' ? b.message : typeof b.error === 'string' ? b.error : undefined;
    const code = typeof b.code === 'number' ? ` (code ${b.code})` : '';
    return msg ? `: "${msg.slice(0, 200)}"${code}` : code;
  }
  return typeof b === 'string' && b.trim() ? `: "${b.trim().slice(0, 200)}"` : '';
}

/** Removes every secret from text a server sent us, in case it echoes a header back. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Header values must be visible ASCII: undici's own error for a bad one quotes the value, i.e. the
 * token, so we refuse such tokens before any Headers object sees them.
 */
export function isHeaderSafeToken(token: string): boolean {
  return /^[\x21-\x7e]+$/.test(token);
}
