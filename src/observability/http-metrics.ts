import type { Metric, Registry } from 'prom-client';

/**
 * `fleet_http_requests_total` and `fleet_http_request_duration_seconds`, counted by hand and
 * exposed through prom-client's registry exactly as its own Counter and Histogram would expose
 * them (http-metrics.test.ts compares the two texts).
 *
 * Why not prom-client's: each request's `observe` and `inc` validated the labels, hashed them and
 * searched the buckets through three function layers, about a tenth of the CPU of the
 * GET /api/fleet fast path under bench:api. Here a request is one short key, one map lookup and a
 * bucket search; the label objects and the exposition are built at scrape time only.
 */
interface Series {
  labels: { method: string; route: string; status: string };
  /** Per bucket (not cumulative); the last one counts what is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

type Value = { labels: Record<string, string | number>; sharedLabels?: Record<string, string>; value: number; metricName?: string };

export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  constructor(
    registry: Pick<Registry, 'registerMetric'>,
    private readonly buckets: readonly number[],
  ) {
    const view = (name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) => {
      const metric = {
        // The registry renames a counter for OpenMetrics (it drops `_total`, then adds it back per line).
        name,
        help,
        type,
        aggregator: 'sum',
        get: async () => ({ name: metric.name, help, type, aggregator: 'sum', values: values() }),
        reset: () => this.series.clear(),
      };
      return metric;
    };
    // Our own two metrics, as prom-client's registry reads any metric: a name, a type and get().
    const register = (m: ReturnType<typeof view>) => registry.registerMetric(m as unknown as Metric);
    register(
      view('fleet_http_requests_total', 'HTTP requests by method, route and status', 'counter', () =>
        [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count })),
      ),
    );
    const name = 'fleet_http_request_duration_seconds';
    register(view(name, 'HTTP request latency by method, route and status', 'histogram', () => this.histogramValues(name)));
  }

  /** One finished request. */
  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { method, route, status: String(status) }, counts: new Array(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < this.buckets.length && seconds > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  private histogramValues(name: string): Value[] {
    const values: Value[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: `${name}_bucket` },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${name}_count` },
      );
    }
    return values;
  }
}
