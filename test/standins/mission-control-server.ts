/**
 * A Mission Control stand-in: its health endpoint behind a bearer token, with fault injection.
 * For unit tests, the pipeline's end-to-end tests and the zero-latency benchmark.
 *
 *   const mc = await startMissionControlStandin({ token: 'mc-secret' });
 *   await checkMissionControl({ url: mc.url, token: 'mc-secret' });
 *   mc.requests;              // [{ method: 'GET', path: '/health', caller: 'token', status: 200 }]
 *   mc.failNext(503, { times: 2 }); mc.failNext('drop'); mc.setLatencyMs(200);
 *   await mc.close();
 *
 * Behaviour:
 * - `GET {healthPath}` (default `/health`) with `Authorization: Bearer <token>` → 200 `{"ok":true,"version":…}`
 *   (Mission Control's health payload is `{"ok": bool}`).
 * - Missing bearer → 401, wrong token → 403, both `{"detail":"…"}` as Mission Control's API words them.
 *   `requireAuth: false` leaves the endpoint open, as some deployments do.
 * - Any other path → 404 `{"detail":"Not Found"}`; other methods on the health path → 405.
 * - `setHealthy(false)` → 503 `{"ok":false,"checks":{"db":"fail"}}` until set back.
 * - Injected faults answer `{"detail":"<reason>"}` with the status given, or drop the connection.
 */
import type { IncomingMessage } from 'node:http';
import {
  startStandin,
  type FaultOptions,
  type FaultStatus,
  type QueuedFault,
  type RecordedRequest,
  type StandinReply,
} from './http-standin.ts';

export type { FaultOptions, FaultStatus, RecordedRequest };

export interface MissionControlStandinOptions {
  token: string;
  /** Default '/health'. */
  healthPath?: string;
  /** Default true. */
  requireAuth?: boolean;
  /** Reported in the health body; default 'standin'. */
  version?: string;
  latencyMs?: number;
}

export interface MissionControlStandin {
  /** Base URL (no trailing slash), to pass as `url`. */
  url: string;
  /** Every request: method, path, caller ('token' when the right token was sent, else null), status. */
  requests: RecordedRequest[];
  setLatencyMs(ms: number): void;
  setHealthy(healthy: boolean): void;
  failNext(status: FaultStatus, opts?: FaultOptions): void;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export async function startMissionControlStandin(opts: MissionControlStandinOptions): Promise<MissionControlStandin> {
  const healthPath = opts.healthPath ?? '/health';
  let healthy = true;

  const identify = (req: IncomingMessage): string | null => (req.headers.authorization === `Bearer ${opts.token}` ? 'token' : null);

  const answer = (req: IncomingMessage, path: string, caller: string | null): StandinReply => {
    if (path !== healthPath) return { status: 404, body: { detail: 'Not Found' } };
    if (req.method !== 'GET') return { status: 405, body: { detail: 'Method Not Allowed' } };
    if (opts.requireAuth !== false && caller === null) {
      return req.headers.authorization
        ? { status: 403, body: { detail: 'Invalid token' } }
        : { status: 401, body: { detail: 'Not authenticated' }, headers: { 'www-authenticate': 'Bearer' } };
    }
    if (!healthy) return { status: 503, body: { ok: false, checks: { db: 'fail' } } };
    return { status: 200, body: { ok: true, version: opts.version ?? 'standin' } };
  };

  const fault = (f: QueuedFault): StandinReply => {
    const status = f.status as number;
    const headers: Record<string, string> = f.status === 429 ? { 'retry-after': String(f.retryAfterSec ?? 1) } : {};
    return { status, body: { detail: REASONS[status] ?? 'Error' }, headers };
  };

  const server = await startStandin({ identify, answer, fault }, opts.latencyMs ?? 0);
  return {
    url: server.origin,
    requests: server.requests,
    setLatencyMs: server.setLatencyMs,
    setHealthy: (h) => {
      healthy = h;
    },
    failNext: server.failNext,
    close: server.close,
  };
}
