import pg from 'pg';
import { EVENTS_CHANNEL, TENANTS_CHANNEL } from '../db/events.ts';
import type { Logger } from '../observability/logger.ts';

/**
 * One LISTEN connection per process, fanned out to every subscriber (SSE streams, the fleet read
 * cache). Notifications say only "tenant T has event N" (or "tenant T now exists for owner O");
 * subscribers read the events table, so a dropped connection loses nothing: after reconnecting,
 * `onReconnect` subscribers catch up.
 *
 * A stream subscribes to its own tenant (or, before that tenant exists, to its owner), so an
 * event wakes only the streams it concerns: with every stream woken by every event, 60 streams
 * of tenant-less users cost a provisioning hundreds of queries.
 */
export type EventListener = (tenantId: string, eventId: number) => void;

export class EventHub {
  private client: pg.Client | undefined;
  private readonly listeners = new Set<EventListener>();
  private readonly byTenant = new KeyedListeners<number>();
  private readonly byOwner = new KeyedListeners<string>();
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

  /** Every event of every tenant (the read cache). */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The events of one tenant only. */
  subscribeTenant(tenantId: string, listener: (eventId: number) => void): () => void {
    return this.byTenant.add(tenantId, listener);
  }

  /** The creation of the tenant of one Clerk owner (`ownerKey` of db/events.ts). */
  onTenantCreated(owner: string, listener: (tenantId: string) => void): () => void {
    return this.byOwner.add(owner, listener);
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'fleet-events' });
    client.on('notification', (msg) => {
      const payload = msg.payload ?? '';
      if (msg.channel === TENANTS_CHANNEL) {
        const space = payload.indexOf(' ');
        if (space > 0) this.byOwner.emit(payload.slice(space + 1), payload.slice(0, space));
        return;
      }
      const [tenantId, id] = payload.split(':');
      if (!tenantId || !id) return;
      for (const l of this.listeners) l(tenantId, Number(id));
      this.byTenant.emit(tenantId, Number(id));
    });
    client.on('error', (err) => {
      this.log.warn({ err }, 'event connection lost; reconnecting');
      this.connected = false;
      void client.end().catch(() => {});
      this.scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${TENANTS_CHANNEL}`);
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

/** Listeners grouped by a key; a key's set is dropped with its last listener. */
class KeyedListeners<A> {
  private readonly sets = new Map<string, Set<(arg: A) => void>>();

  add(key: string, listener: (arg: A) => void): () => void {
    let set = this.sets.get(key);
    if (!set) {
      set = new Set();
      this.sets.set(key, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.sets.get(key) === set) this.sets.delete(key);
    };
  }

  emit(key: string, arg: A): void {
    for (const l of this.sets.get(key) ?? []) l(arg);
  }
}
