import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HttpMetrics } from './http-metrics.ts';

export const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Prometheus metrics, one registry per app so tests can build many apps in one process. */
export class Metrics {
  readonly registry = new Registry();
  /** Requests by method, route and status, and their latency (http-metrics.ts: why by hand). */
  readonly http = new HttpMetrics(this.registry, HTTP_BUCKETS);
  readonly stepDuration = new Histogram({
    name: 'fleet_provision_step_duration_seconds',
    help: 'Provisioning step duration by step and outcome',
    labelNames: ['step', 'status'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300],
    registers: [this.registry],
  });

  constructor(
    opts: {
      fleetsByStatus?: () => Promise<Record<string, number>>;
      queueDepth?: () => Promise<number>;
      orphanMachines?: () => Promise<number>;
      warmPoolReady?: () => Promise<number>;
      defaultMetrics?: boolean;
    } = {},
  ) {
    const { fleetsByStatus, queueDepth, orphanMachines, warmPoolReady } = opts;
    if (warmPoolReady) {
      new Gauge({
        name: 'fleet_warm_pool_ready',
        help: 'Pooled gateways started and ready to be claimed on this host, or pooled VMs in the GCP zones (FLEET_WARM_POOL)',
        registers: [this.registry],
        async collect() {
          this.set(await warmPoolReady());
        },
      });
    }
    if (orphanMachines) {
      new Gauge({
        name: 'fleet_orphan_machines',
        help: 'Machines labelled as ours that no fleet owns, as the reconciler last found them',
        registers: [this.registry],
        async collect() {
          this.set(await orphanMachines());
        },
      });
    }
    if (queueDepth) {
      new Gauge({
        name: 'fleet_queue_depth',
        help: 'Runs queued and waiting for a worker (every process sees the same queue)',
        registers: [this.registry],
        async collect() {
          this.set(await queueDepth());
        },
      });
    }
    if (fleetsByStatus) {
      new Gauge({
        name: 'fleet_fleets',
        help: 'Fleets by status',
        labelNames: ['status'] as const,
        registers: [this.registry],
        // Read at scrape time: the database is the truth, shared by every replica.
        async collect() {
          const counts = await fleetsByStatus();
          this.reset();
          for (const status of ['pending', 'provisioning', 'active', 'error', 'suspended']) {
            this.set({ status }, counts[status] ?? 0);
          }
        },
      });
    }
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'fleet_' });
  }
}
