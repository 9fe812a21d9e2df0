import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenMatches } from '../auth/token-match.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/** One thing /readyz checks: `check` throws (or rejects) when it fails; `failure` is what the probe is told then. */
export interface ReadinessCheck {
  name: string;
  failure: string;
  check(): Promise<void> | void;
}

/**
 * The HTTP face of a `fleet worker`, which has no API, on its own small listener
 * (FLEET_METRICS_PORT): `GET /metrics` (its step durations and the queue depth, per process;
 * behind FLEET_METRICS_TOKEN when set, as the API's is), and the probes, which carry no
 * credentials: `/healthz` (the process answers) and `/readyz` (every readiness check passes).
 */
export async function startMetricsListener(opts: {
  port: number;
  host: string;
  metrics: Metrics;
  token: string | undefined;
  readiness: ReadinessCheck[];
  log: Logger;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this listener serves GET /metrics, /healthz and /readyz only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/healthz') return sendJson(req, res, 200, { ok: true });
    if (path === '/readyz') return void answerReadiness(req, res, opts.readiness, opts.log);
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (opts.token !== undefined && !tokenMatches(opts.token, given)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain' });
      res.end('Send the FLEET_METRICS_TOKEN as "Authorization: Bearer <token>" to read /metrics.\n');
      return;
    }
    opts.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** 200 when every check passes; else 503 naming the failing checks, in the API's error envelope. */
async function answerReadiness(req: IncomingMessage, res: ServerResponse, checks: ReadinessCheck[], log: Logger): Promise<void> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        await c.check();
        return undefined;
      } catch (err) {
        log.warn({ err, check: c.name }, 'readiness check failed');
        return c;
      }
    }),
  );
  const failing = results.filter((c) => c !== undefined);
  if (failing.length === 0) return sendJson(req, res, 200, { ok: true });
  sendJson(req, res, 503, {
    ok: false,
    failing: failing.map((c) => c.name),
    error: { code: 'unavailable', message: `Not ready: ${failing.map((c) => c.failure).join('; ')}.` },
  });
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
}
