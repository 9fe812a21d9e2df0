/**
 * What a Compute Engine failure means, read from what `@google-cloud/compute` (REST transport)
 * throws and from a finished operation's `error.errors[]`. Nothing here ever hands raw JSON on:
 * the client puts the whole response body in `e.message`, so the human sentence inside it is
 * extracted and the rest dropped.
 *
 * What the client throws (v6, REST): a GaxiosError whose `code` is the HTTP status as a number and
 * whose `message` is the body, `{"error":{"code":409,"message":"…","errors":[{"reason":"alreadyExists"}]}}`;
 * for a network failure `code` is the errno string (`ECONNRESET`, `ECONNREFUSED`, …) and `message`
 * an English sentence. A gax `GoogleError` may instead carry a gRPC code (small number): mapped too.
 */

/** `conditionNotMet`: 412, a fingerprint that no longer matches (labels, metadata). */
export type GcpErrorKind = 'retryable' | 'alreadyExists' | 'notFound' | 'conditionNotMet' | 'other';

export interface GcpError {
  /** The HTTP status, when there was an answer. */
  status: number | undefined;
  /** GCE's `errors[0].reason` (`alreadyExists`, `notFound`, `rateLimitExceeded`, …) or the network errno. */
  reason: string | undefined;
  /** One human sentence, never JSON. */
  message: string;
  kind: GcpErrorKind;
  /** From a `Retry-After` header, when the answer had one. */
  retryAfterMs: number | undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** GCE answers some throttling with 403 and one of these reasons. */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/** gRPC status codes gax may use instead of HTTP ones → the HTTP status they stand for. */
const GRPC_TO_HTTP: Record<number, number> = {
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  13: 500,
  14: 503,
  16: 401,
};

const MAX_MESSAGE = 300;

export function parseGcpError(thrown: unknown): GcpError {
  const e = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as Record<string, unknown>;
  const rawMessage = typeof e.message === 'string' ? e.message : typeof thrown === 'string' ? thrown : '';
  const body = parseBody(rawMessage) ?? parseBody(responseData(e));

  let status: number | undefined;
  let networkCode: string | undefined;
  if (typeof e.code === 'number') status = e.code >= 100 ? e.code : GRPC_TO_HTTP[e.code];
  else if (typeof e.code === 'string' && /^\d{3}$/.test(e.code)) status = Number(e.code);
  else if (typeof e.code === 'string') networkCode = e.code;
  if (status === undefined && typeof e.status === 'number' && e.status >= 100) status = e.status;
  if (status === undefined && typeof body?.code === 'number') status = body.code;
  networkCode ??= causeCode(e);
  if (networkCode === undefined && (e.name === 'TimeoutError' || e.name === 'FetchError')) networkCode = 'ETIMEDOUT';

  const reason = body?.reason ?? (status === undefined ? networkCode : undefined);
  let message: string;
  if (body?.message) message = body.message;
  else if (status === undefined && networkCode !== undefined) message = `network error (${networkCode}): ${networkSentence(rawMessage)}`;
  else if (rawMessage && !looksLikeJson(rawMessage)) message = rawMessage;
  else message = status === undefined ? 'unknown error' : `HTTP ${status}`;

  let kind: GcpErrorKind = 'other';
  if (status === undefined) kind = networkCode !== undefined && NETWORK_CODES.has(networkCode) ? 'retryable' : 'other';
  else if (status >= 500 || status === 429 || status === 408) kind = 'retryable';
  else if (status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason)) kind = 'retryable';
  else if (status === 409 && (reason === 'alreadyExists' || reason === undefined)) kind = 'alreadyExists';
  else if (status === 404) kind = 'notFound';
  else if (status === 412) kind = 'conditionNotMet';

  return { status, reason, message: clean(message), kind, retryAfterMs: retryAfter(e) };
}

/** How a finished operation failed, if it did. */
export type OperationErrorKind = 'stockout' | 'quota' | 'alreadyExists' | 'notFound' | 'retryable' | 'other';

export interface OperationError {
  kind: OperationErrorKind;
  /** The first error's code (`ZONE_RESOURCE_POOL_EXHAUSTED`, `QUOTA_EXCEEDED`, …). */
  code: string | undefined;
  /** The operation's messages, joined; never JSON. */
  message: string;
}

const STOCKOUT_CODES = new Set(['ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS']);
const QUOTA_CODES = new Set(['QUOTA_EXCEEDED']);

interface OperationLike {
  error?: { errors?: Array<{ code?: string | null; message?: string | null } | null> | null } | null;
  httpErrorStatusCode?: number | null;
  httpErrorMessage?: string | null;
}

/** `null` when the operation succeeded. Stockout and quota codes win over anything else listed. */
export function classifyOperationError(op: OperationLike): OperationError | null {
  const errors = (op.error?.errors ?? []).filter((x) => x != null);
  if (errors.length === 0) return null;
  const codes = errors.map((x) => x.code ?? undefined);
  const message = clean(
    errors
      .map((x) => x.message ?? x.code ?? '')
      .filter((m) => m.length > 0)
      .join('; ') ||
      op.httpErrorMessage ||
      'the operation failed',
  );
  const first = codes.find((c) => c !== undefined);
  const has = (set: Set<string>) => codes.find((c) => c !== undefined && set.has(c));
  const stockout = has(STOCKOUT_CODES);
  if (stockout) return { kind: 'stockout', code: stockout, message };
  const quota = has(QUOTA_CODES);
  if (quota) return { kind: 'quota', code: quota, message };
  if (first === 'RESOURCE_ALREADY_EXISTS' || first === 'ALREADY_EXISTS') return { kind: 'alreadyExists', code: first, message };
  if (first === 'RESOURCE_NOT_FOUND' || first === 'NOT_FOUND') return { kind: 'notFound', code: first, message };
  const http = op.httpErrorStatusCode ?? undefined;
  if (http !== undefined && (http >= 500 || http === 429)) return { kind: 'retryable', code: first, message };
  return { kind: 'other', code: first, message };
}

interface BodyError {
  code: number | undefined;
  message: string | undefined;
  reason: string | undefined;
}

function parseBody(text: unknown): BodyError | undefined {
  if (typeof text !== 'string' || !looksLikeJson(text)) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    const err = (parsed as { error?: unknown })?.error;
    if (typeof err !== 'object' || err === null) return undefined;
    const { code, message, errors } = err as { code?: unknown; message?: unknown; errors?: unknown };
    const firstReason = Array.isArray(errors) ? (errors[0] as { reason?: unknown } | undefined)?.reason : undefined;
    return {
      code: typeof code === 'number' ? code : undefined,
      message: typeof message === 'string' && message.length > 0 ? message : undefined,
      reason: typeof firstReason === 'string' ? firstReason : undefined,
    };
  } catch {
    return undefined;
  }
}

function responseData(e: Record<string, unknown>): unknown {
  const data = (e.response as { data?: unknown } | undefined)?.data;
  return typeof data === 'string' ? data : undefined;
}

function causeCode(e: Record<string, unknown>): string | undefined {
  let c: unknown = e.cause;
  for (let depth = 0; depth < 4 && typeof c === 'object' && c !== null; depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && !/^\d+$/.test(code)) return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

function retryAfter(e: Record<string, unknown>): number | undefined {
  const headers = (e.response as { headers?: unknown } | undefined)?.headers;
  let value: unknown;
  if (headers instanceof Headers) value = headers.get('retry-after');
  else if (typeof headers === 'object' && headers !== null) value = (headers as Record<string, unknown>)['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** "request to http://… failed, reason: socket hang up" → "socket hang up". */
function networkSentence(raw: string): string {
  const m = /reason: (.+)$/.exec(raw);
  return (m?.[1] ?? raw) || 'no answer';
}

function looksLikeJson(text: string): boolean {
  const t = text.trimStart();
  return t.startsWith('{') || t.startsWith('[');
}

/** One line, bounded, and never a JSON document even if GCE put one inside its message. */
function clean(text: string): string {
  let out = text.replace(/\s+/g, ' ').trim();
  if (looksLikeJson(out)) out = 'the answer could not be read';
  const brace = out.indexOf('{"');
  if (brace >= 0) out = `${out.slice(0, brace).trim()} …`;
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}
