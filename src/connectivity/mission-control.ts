/**
 * Checks that Mission Control answers its health endpoint with the fleet's token. A 2xx proves
 * the token only if that endpoint requires it: point `healthPath` at an authenticated endpoint
 * when the deployment leaves `/health` open.
 *
 * The URL is the tenant's: it is called only through the outbound guard (outbound-fetch.ts), and
 * messages give the status code and our own words, never what the server answered.
 */
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { type OutboundPolicy, urlRefusal } from '../util/outbound-address.ts';
import { DEFAULT_POLICY, getWithRetry, isHeaderSafeToken, isRecord, redact, type FetchLike } from './http.ts';
import { outboundFetch } from './outbound-fetch.ts';

export const DEFAULT_HEALTH_PATH = '/health';

export interface CheckMissionControlOptions {
  /** Base address of Mission Control, e.g. https://mission-control.example.com */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token: string;
  /** Appended to `url`; default `/health`. */
  healthPath?: string;
  /** What the URL may point at (https only, no private addresses, … : util/outbound-address.ts). */
  outbound: OutboundPolicy;
  /** Default: outboundFetch(outbound). Tests may wrap it; it must keep the guard. */
  fetchImpl?: FetchLike;
  /** Per request attempt; default 10 s. */
  timeoutMs?: number;
  /** Retries for 5xx, timeouts and network errors; default 3. */
  maxRetries?: number;
  /** First backoff delay; default 500 ms. */
  backoffBaseMs?: number;
  signal?: AbortSignal;
}

export interface MissionControlCheckResult {
  /** One line for the provision log. */
  summary: string;
  status: number;
  elapsedMs: number;
}

/** Resolves when Mission Control is healthy and accepts the token, else TerminalError or TransientError. */
export async function checkMissionControl(opts: CheckMissionControlOptions): Promise<MissionControlCheckResult> {
  const secrets = [opts.token];
  const target = healthUrl(opts.url, opts.healthPath ?? DEFAULT_HEALTH_PATH, secrets, opts.outbound);
  const shown = target.href; // has no credentials: healthUrl refuses them
  if (opts.token.length === 0) {
    throw new TerminalError(
      "No Mission Control token is set. Create an API token in Mission Control, add it to the fleet's Mission Control settings and provision again.",
    );
  }
  if (!isHeaderSafeToken(opts.token)) {
    throw new TerminalError(
      'The Mission Control token contains spaces or characters a token cannot have. Paste only the token itself (no "Bearer " prefix, quotes or line breaks) and provision again.',
    );
  }

  const reply = await getWithRetry({
    url: shown,
    headers: { Authorization: `Bearer ${opts.token}`, Accept: 'application/json' },
    what: `Mission Control health check (GET ${shown})`,
    secrets,
    quoteBodies: false,
    fetchImpl: opts.fetchImpl ?? outboundFetch(opts.outbound),
    policy: {
      ...DEFAULT_POLICY,
      ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }),
      ...(opts.maxRetries !== undefined && { maxRetries: opts.maxRetries }),
      ...(opts.backoffBaseMs !== undefined && { backoffBaseMs: opts.backoffBaseMs }),
    },
    signal: opts.signal,
  });
  const { status, body, elapsedMs } = reply;

  if (status >= 200 && status < 300) {
    // Mission Control's health payload is `{"ok": true}`; an explicit false means "up but not ready".
    if (isRecord(body) && body.ok === false) {
      throw new TransientError(`Mission Control at ${shown} answered ${status} but reports itself unhealthy ("ok": false).`);
    }
    return { summary: `Mission Control: healthy at ${shown} (${status} in ${elapsedMs} ms)`, status, elapsedMs };
  }
  if (status === 401 || status === 403) {
    throw new TerminalError(
      `Mission Control at ${target.origin} rejected the token (${status}). Create a new API token in Mission Control, save it in the fleet's Mission Control settings and provision again.`,
    );
  }
  if (status === 404) {
    throw new TerminalError(
      `Mission Control's health endpoint was not found at ${shown} (404). Check the Mission Control URL: it should be the base address (e.g. https://mission-control.example.com), without a path to the health endpoint. Then provision again.`,
    );
  }
  throw new TerminalError(
    `Mission Control at ${shown} answered ${status}, which the check does not expect. Check the Mission Control URL and provision again.`,
  );
}

/** Joins base URL and path, refusing what fetch cannot or should not send. */
function healthUrl(base: string, healthPath: string, secrets: string[], outbound: OutboundPolicy): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TerminalError(
      redact(
        `Mission Control URL '${base.slice(0, 200)}' is not a valid URL. Use the full address, e.g. https://mission-control.example.com, and provision again.`,
        secrets,
      ),
    );
  }
  if (url.username !== '' || url.password !== '') {
    // fetch refuses such URLs, and a password in a URL ends up in logs.
    throw new TerminalError(
      'Mission Control URL must not contain a user name or password. Remove them from the URL, put the API token in the Mission Control token setting, and provision again.',
    );
  }
  const refused = urlRefusal(url, outbound);
  if (refused) {
    throw new TerminalError(
      `Mission Control URL ${url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : `'${url.protocol}//…'`} ${refused}. Use Mission Control's public https address and provision again.`,
    );
  }
  const path = healthPath.startsWith('/') ? healthPath : `/${healthPath}`;
  url.pathname = url.pathname.replace(/\/+$/, '') + path;
  url.search = '';
  url.hash = '';
  return url;
}
