import type { Db } from '../db/connection.ts';
import type { FleetViewBounds, TenantLookup } from '../db/fleet-view.ts';
import type { EventHub } from '../events/hub.ts';
import { readFleetJson } from './serialize.ts';

/**
 * A read cache for the hottest route, kept correct by the events every change writes: each fleet
 * change records an event in its own transaction, every replica hears its NOTIFY and drops that
 * tenant's entries. Guards:
 *  - a read that overlapped an invalidation is not stored (generation check), so a snapshot
 *    taken before a change can never outlive it;
 *  - while the LISTEN connection is down nothing is read from or written to the cache, and it is
 *    emptied on reconnect (notifications may have been missed);
 *  - entries expire after `ttlMs` anyway, and the cache is bounded.
 * "No fleet" answers are not cached: a tenant that does not exist yet has no id to invalidate.
 */
export class FleetViewCache {
  private readonly entries = new Map<string, { tenantId: string; body: string; expiresAt: number }>();
  private readonly keysByTenant = new Map<string, Set<string>>();
  private generation = 0;

  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
    private readonly bounds: FleetViewBounds,
    private readonly opts: { maxEntries: number; ttlMs: number } = { maxEntries: 20_000, ttlMs: 60_000 },
  ) {
    hub.subscribe((tenantId) => this.invalidate(tenantId));
    hub.onReconnect(() => this.clear());
  }

  /** The JSON body of `{ ok: true, fleet }` for `lookup`. */
  async responseBody(lookup: TenantLookup): Promise<string> {
    const key = keyOf(lookup);
    const usable = this.hub.isConnected;
    if (usable) {
      const hit = this.entries.get(key);
      if (hit && hit.expiresAt > Date.now()) return hit.body;
      if (hit) this.drop(key);
    }
    const generation = this.generation;
    const result = await readFleetJson(this.db, lookup, this.bounds);
    const body = JSON.stringify({ ok: true, fleet: result?.fleet ?? null });
    if (usable && result && this.hub.isConnected && generation === this.generation) this.store(key, result.tenantId, body);
    return body;
  }

  /**
   * The stored body for `lookup`, or undefined when a read is needed (not stored, expired, or the
   * LISTEN connection down): what responseBody would answer without going to the database.
   */
  cachedBody(lookup: TenantLookup): string | undefined {
    if (!this.hub.isConnected) return undefined;
    const hit = this.entries.get(keyOf(lookup));
    return hit && hit.expiresAt > Date.now() ? hit.body : undefined;
  }

  invalidate(tenantId: string): void {
    this.generation++;
    for (const key of this.keysByTenant.get(tenantId) ?? []) this.entries.delete(key);
    this.keysByTenant.delete(tenantId);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.keysByTenant.clear();
  }

  private store(key: string, tenantId: string, body: string): void {
    if (this.entries.size >= this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.drop(oldest);
    }
    this.entries.set(key, { tenantId, body, expiresAt: Date.now() + this.opts.ttlMs });
    let keys = this.keysByTenant.get(tenantId);
    if (!keys) {
      keys = new Set();
      this.keysByTenant.set(tenantId, keys);
    }
    keys.add(key);
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.keysByTenant.get(e.tenantId)?.delete(key);
  }
}

const keyOf = (l: TenantLookup) =>
  'clerkOrgId' in l ? `o:${l.clerkOrgId}` : 'clerkUserId' in l ? `u:${l.clerkUserId}` : `t:${l.tenantId}`;
