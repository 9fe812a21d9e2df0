import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HttpMetrics } from './http-metrics.ts';
import { HTTP_BUCKETS } from './metrics.ts';

/** Ours must expose exactly what prom-client's own Counter and Histogram expose for the same requests. */
function reference(registry: Registry) {
  const labelNames = ['method', 'route', 'status'] as const;
  const counter = new Counter({
    name: 'fleet_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames,
    registers: [registry],
  });
  const histogram = new Histogram({
    name: 'fleet_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    record(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) };
      counter.inc(labels);
      histogram.observe(labels, seconds);
    },
  };
}

const requests: Array<[string, string, number, number]> = [
  ['GET', '/api/fleet', 200, 0.0004],
  ['GET', '/api/fleet', 200, 0.001], // on a bound: counted in it (le means ≤)
  ['GET', '/api/fleet', 200, 0.0031],
  ['GET', '/api/fleet', 401, 0.0002],
  ['POST', '/api/tenants', 201, 0.042],
  ['POST', '/api/tenants', 201, 7.5], // above every bound: +Inf only
  ['GET', '/api/tenants/:tenantId', 404, 0.25],
];

describe('HttpMetrics', () => {
  it("exposes the same text as prom-client's Counter and Histogram for the same requests", async () => {
    // Prometheus text, and OpenMetrics (which names counters differently).
    for (const type of [Registry.PROMETHEUS_CONTENT_TYPE, Registry.OPENMETRICS_CONTENT_TYPE]) {
      const registry = () => {
        const r = new Registry();
        // The types fix a registry's content type at construction; the registry itself can switch.
        r.setContentType(type as typeof Registry.PROMETHEUS_CONTENT_TYPE);
        return r;
      };
      const ours = registry();
      const http = new HttpMetrics(ours, HTTP_BUCKETS);
      const theirs = reference(registry());
      for (const r of requests) {
        http.record(...r);
        theirs.record(...r);
      }
      expect(await ours.metrics()).toBe(await theirs.registry.metrics());
    }
  });

  it('starts from nothing after a reset', async () => {
    const registry = new Registry();
    const http = new HttpMetrics(registry, HTTP_BUCKETS);
    http.record('GET', '/api/fleet', 200, 0.002);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toMatch(/route=/);
  });
});
