import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tokenMatches } from '../auth/token-match.ts';
import type { Metrics } from '../observability/metrics.ts';

/**
 * `GET /metrics` of a `fleet worker`, which has no API: its step durations and the queue depth,
 * per process, on its own small listener (FLEET_METRICS_PORT). Behind FLEET_METRICS_TOKEN when set,
 * as the API's /metrics is.
 */
export async function startMetricsListener(opts: {
  port: number;
  host: string;
  metrics: Metrics;
  token: string | undefined;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this listener serves GET /metrics only\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
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
