/**
 * The gateway's unauthenticated health endpoints on 127.0.0.1 of its machine (asked through the Host): `/healthz` (the process is up and
 * serving HTTP: `{"ok":true,"status":"live"}`) and `/readyz` (startup finished:
 * `{"ready":true,"failing":[]}`). Ready comes a few seconds after live. Neither says whether a
 * channel plugin (Discord) works — see `openclawHealth` in cli.ts for that.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { HostHttpError, type Host } from '../hosts/host.ts';
import { gatewayIdentity } from './identity.ts';
import { GATEWAY_SERVICE } from './service.ts';

export interface ProbeAnswer {
  path: string;
  /** HTTP status, or undefined when there was no HTTP answer. */
  status?: number;
  body?: unknown;
  /** Connection error or timeout. */
  error?: string;
}

/** One GET on 127.0.0.1:port, made from the machine itself; never throws. */
export async function probe(host: Host, port: number, path: '/healthz' | '/readyz', timeoutMs = 2000): Promise<ProbeAnswer> {
  try {
    const answer = await host.request(port, path, { timeoutMs });
    let body: unknown = answer.body;
    try {
      body = JSON.parse(answer.body);
    } catch {
      // not JSON: keep the text for the error message
    }
    return { path, status: answer.status, body };
  } catch (error) {
    return { path, error: error instanceof HostHttpError ? error.reason : (error as Error).message };
  }
}

function isLive(answer: ProbeAnswer): boolean {
  return answer.status === 200 && (answer.body as { ok?: unknown } | undefined)?.ok === true;
}

function isReady(answer: ProbeAnswer): boolean {
  return answer.status === 200 && (answer.body as { ready?: unknown } | undefined)?.ready === true;
}

/**
 * True when the gateway on `port` is both live and ready, and (given the fleet's `token`) proves
 * it holds that token: without it, any gateway on the port would do (identity.ts).
 */
export async function isHealthy(host: Host, port: number, token?: string): Promise<boolean> {
  if (!(await isLiveAndReady(host, port))) return false;
  return token === undefined || (await gatewayIdentity(host, port, token)).verdict === 'ours';
}

/** /healthz live and /readyz ready, asked together (no token proof: see isHealthy). */
export async function isLiveAndReady(host: Host, port: number): Promise<boolean> {
  const [live, ready] = await Promise.all([probe(host, port, '/healthz'), probe(host, port, '/readyz')]);
  return isLive(live) && isReady(ready);
}

export interface WaitHealthyOptions {
  port: number;
  /** The fleet's gateway token: once ready, the gateway must prove it holds it (identity.ts). */
  token?: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Named in the timeout message so the user knows where to look. */
  logFile?: string;
  /** When true, stop waiting as soon as the gateway service is gone (it crashed during startup). */
  watchService?: boolean;
  /** Stops the wait (the step was cancelled or timed out); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls /healthz until live, then /readyz until ready, then (given a token) until the gateway
 * proves it is the fleet's own. Resolves with the time it took. Rejects with a TransientError on
 * timeout (with the last answer and the log file), and a TerminalError when the watched process
 * exits first or a gateway holding another token answers on the port.
 */
export async function waitHealthy(host: Host, options: WaitHealthyOptions): Promise<{ ms: number }> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const where = options.logFile ? ` See the gateway log ${options.logFile}.` : '';
  let last: ProbeAnswer | undefined;
  for (const [path, ok] of [
    ['/healthz', isLive],
    ['/readyz', isReady],
  ] as const) {
    for (;;) {
      options.signal?.throwIfAborted();
      last = await probe(host, options.port, path);
      if (ok(last)) break;
      if (options.watchService && !(await host.serviceStatus(GATEWAY_SERVICE)).running) {
        throw new TerminalError(
          `The gateway exited during startup before ${path} answered.${where} ` +
            'Fix what the log reports (often the config or a port already in use) and retry.',
        );
      }
      if (Date.now() >= deadline) {
        throw new TransientError(
          `The gateway on 127.0.0.1:${options.port} was not healthy after ${Math.round(options.timeoutMs / 1000)} s ` +
            `(last answer from ${path}: ${describe(last)}).${where}`,
        );
      }
      await sleep(Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now())), undefined, {
        signal: options.signal,
      }).catch(() => undefined); // an abort is reported by throwIfAborted at the top of the loop
    }
  }
  if (options.token !== undefined) await waitOwnGateway(host, options, options.token, deadline, where);
  return { ms: Date.now() - started };
}

async function waitOwnGateway(host: Host, options: WaitHealthyOptions, token: string, deadline: number, where: string): Promise<void> {
  for (;;) {
    options.signal?.throwIfAborted();
    const identity = await gatewayIdentity(host, options.port, token);
    if (identity.verdict === 'ours') return;
    if (identity.verdict === 'foreign') {
      throw new TerminalError(
        `The gateway answering on 127.0.0.1:${options.port} does not hold this fleet's gateway token: another fleet's ` +
          `gateway (or another program) holds the port.${where} Stop whatever listens there, then retry.`,
      );
    }
    if (Date.now() >= deadline) {
      throw new TransientError(
        `The server on 127.0.0.1:${options.port} is healthy but did not prove it holds this fleet's gateway token ` +
          `(${identity.reason}).${where}`,
      );
    }
    await sleep(Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now())), undefined, {
      signal: options.signal,
    }).catch(() => undefined);
  }
}

function describe(answer: ProbeAnswer): string {
  if (answer.error !== undefined) return answer.error;
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  return `HTTP ${answer.status} ${body.slice(0, 300)}`;
}
