import pg from 'pg';
import { EVENTS_CHANNEL } from '../db/events.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * One LISTEN connection per process, fanned out to every subscriber (SSE streams, the fleet read
 * cache). Notifications say only "tenant T has event N"; subscribers read the events table, so a
 * dropped connection loses nothing: after reconnecting, `onReconnect` subscribers catch up.
 */
export type EventListener = (tenantId: string, eventId: number) => void;

export class EventHub {
  private client: pg.Client | undefined;
  private readonly listeners = new Set<EventListener>();
  private readonly reconnectListeners = new Set<() => void>();
  private closed = false;
  private connected = false;

  private constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  static async start(url: string, log: Logger): Promise<EventHub> {
    const hub = new EventHub(url, log);
    await hub.connect();
    return hub;
  }

  /** False while the LISTEN connection is down: caches must not trust themselves then. */
  get isConnected(): boolean {
    return this.connected;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'fleet-events' });
    client.on('notification', (msg) => {
      const [tenantId, id] = (msg.payload ?? '').split(':');
      if (!tenantId || !id) return;
      for (const l of this.listeners) l(tenantId, Number(id));
    });
    client.on('error', (err) => {
      this.log.warn({ err }, 'event connection lost; reconnecting');
      this.connected = false;
      void client.end().catch(() => {});
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.client = client;
    this.connected = true;
  }

  private scheduleReconnect(attempt = 0): void {
    if (this.closed) return;
    setTimeout(
      () => {
        this.connect().then(
          () => {
            this.log.info('event connection restored');
            for (const l of this.reconnectListeners) l();
          },
          () => this.scheduleReconnect(attempt + 1),
        );
      },
      Math.min(200 * 2 ** attempt, 5000),
    ).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    await this.client?.end().catch(() => {});
  }
}
