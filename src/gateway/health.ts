/**
 * The gateway's unauthenticated health endpoints on 127.0.0.1: `/healthz` (the process is up and
 * serving HTTP: `{"ok":true,"status":"live"}`) and `/readyz` (startup finished:
 * `{"ready":true,"failing":[]}`). Ready comes a few seconds after live. Neither says whether a
 * channel plugin (Discord) works — see `openclawHealth` in cli.ts for that.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { TerminalError, TransientError } from '../domain/step-errors.ts';
import { isRunning } from './pid.ts';

export interface ProbeAnswer {
  path: string;
  /** HTTP status, or undefined when there was no HTTP answer. */
  status?: number;
  body?: unknown;
  /** Connection error or timeout. */
  error?: string;
}

/** One GET on 127.0.0.1:port; never throws. */
export function probe(port: number, path: '/healthz' | '/readyz', timeoutMs = 2000): Promise<ProbeAnswer> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < 64_000) text += chunk;
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error message
        }
        resolve({ path, status: res.statusCode, body });
      });
      res.on('error', (error) => resolve({ path, error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ path, error: (error as NodeJS.ErrnoException).code ?? error.message }));
    req.end();
  });
}

function isLive(answer: ProbeAnswer): boolean {
  return answer.status === 200 && (answer.body as { ok?: unknown } | undefined)?.ok === true;
}

function isReady(answer: ProbeAnswer): boolean {
  return answer.status === 200 && (answer.body as { ready?: unknown } | undefined)?.ready === true;
}

/** True when the gateway on `port` is both live and ready. */
export async function isHealthy(port: number): Promise<boolean> {
  return isLive(await probe(port, '/healthz')) && isReady(await probe(port, '/readyz'));
}

export interface WaitHealthyOptions {
  port: number;
  timeoutMs: number;
  intervalMs?: number;
  /** Named in the timeout message so the user knows where to look. */
  logFile?: string;
  /** When given, stop waiting as soon as this process is gone (it crashed during startup). */
  pid?: number;
  /** Stops the wait (the step was cancelled or timed out); rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Polls /healthz until live, then /readyz until ready. Resolves with the time it took. Rejects
 * with a TransientError on timeout (with the last answer and the log file) and a TerminalError
 * when the watched process exits first.
 */
export async function waitHealthy(options: WaitHealthyOptions): Promise<{ ms: number }> {
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
      last = await probe(options.port, path);
      if (ok(last)) break;
      if (options.pid !== undefined && !isRunning(options.pid)) {
        throw new TerminalError(
          `The gateway (pid ${options.pid}) exited during startup before ${path} answered.${where} ` +
            'Fix what the log reports (often the config or a port already in use) and retry.',
        );
      }
      if (Date.now() >= deadline) {
        throw new TransientError(
          `The gateway on 127.0.0.1:${options.port} was not healthy after ${Math.round(options.timeoutMs / 1000)} s ` +
            `(last answer from ${path}: ${describe(last)}).${where} It will be retried.`,
        );
      }
      await sleep(Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now())), undefined, {
        signal: options.signal,
      }).catch(() => undefined); // an abort is reported by throwIfAborted at the top of the loop
    }
  }
  return { ms: Date.now() - started };
}

function describe(answer: ProbeAnswer): string {
  if (answer.error !== undefined) return answer.error;
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  return `HTTP ${answer.status} ${body.slice(0, 300)}`;
}
