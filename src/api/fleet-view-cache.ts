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
 *  - no answer is older than `ttlMs` anyway: after half to three quarters of it (spread, so
 *    entries filled together are not read again together) an entry is refreshed in the
 *    background while it is still answered; the cache is bounded;
 *  - callers who miss at the same time share one read, unless an invalidation came between.
 * "No fleet" answers are not cached: a tenant that does not exist yet has no id to invalidate.
 */
export class FleetViewCache {
  private readonly entries = new Map<string, Entry>();
  private readonly keysByTenant = new Map<string, Set<string>>();
  /** The read each key's callers wait for, and the generation it started in. */
  private readonly inFlight = new Map<string, { generation: number; body: Promise<string> }>();
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
    private readonly bounds: FleetViewBounds,
    private readonly opts: { maxEntries: number; ttlMs: number; now?: () => number } = { maxEntries: 20_000, ttlMs: 60_000 },
  ) {
    this.now = opts.now ?? Date.now;
    hub.subscribe((tenantId) => this.invalidate(tenantId));
    hub.onReconnect(() => this.clear());
  }

  /** The JSON body of `{ ok: true, fleet }` for `lookup`. */
  async responseBody(lookup: TenantLookup): Promise<string> {
    if (!this.hub.isConnected) return (await this.readBody(lookup)).body;
    const key = keyOf(lookup);
    const stored = this.stored(key, lookup);
    if (stored !== undefined) return stored.toString();
    // Callers who miss together share one read. A dashboard polls with every tab, and all of a
    // tenant's callers miss at once after an invalidation: bench:api's 50 connections, each
    // missing in turn, made 50 reads of one fleet and fell to a tenth of their throughput. A read
    // started before an invalidation may hold the old state, so a caller who comes after one
    // never joins it.
    return this.sharedRead(key, lookup);
  }

  /**
   * The stored body for `lookup` as the bytes sent (encoded once, when stored: GET /api/fleet's
   * fast path sends them as they are), or undefined when a read is needed (not stored, too old,
   * or the LISTEN connection down): what responseBody would answer without the database.
   */
  cachedBytes(lookup: TenantLookup): Buffer | undefined {
    if (!this.hub.isConnected) return undefined;
    return this.stored(keyOf(lookup), lookup);
  }

  /** The answer for `lookup` from the database; `tenantId` undefined when there is no fleet. */
  protected async readBody(lookup: TenantLookup): Promise<{ body: string; tenantId: string | undefined }> {
    const result = await readFleetJson(this.db, lookup, this.bounds);
    return { body: JSON.stringify({ ok: true, fleet: result?.fleet ?? null }), tenantId: result?.tenantId };
  }

  /**
   * An entry past its freshness (and not invalidated, which deletes it) is still answered until
   * its TTL, while one read in the background replaces it. The TTL is only a safety net under the
   * events, and making every caller of every tenant wait on the database the moment it ran out
   * took bench:api to half its throughput for seconds at a time.
   */
  private stored(key: string, lookup: TenantLookup): Buffer | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    const now = this.now();
    if (now < hit.freshUntil) return hit.bytes;
    if (now < hit.usableUntil) {
      this.refresh(key, lookup);
      return hit.bytes;
    }
    this.drop(key);
    return undefined;
  }

  private refresh(key: string, lookup: TenantLookup): void {
    // A failed refresh leaves the entry as it is; past usableUntil a caller reads and sees the error.
    this.sharedRead(key, lookup).catch(() => undefined);
  }

  /**
   * The read of `key` under way since the last invalidation, or a new one that the callers after
   * this one can join, stored if nothing was invalidated meanwhile.
   */
  private sharedRead(key: string, lookup: TenantLookup): Promise<string> {
    const pending = this.inFlight.get(key);
    if (pending && pending.generation === this.generation) return pending.body;
    const generation = this.generation;
    const body = this.readBody(lookup).then(({ body, tenantId }) => {
      if (tenantId !== undefined && this.hub.isConnected && generation === this.generation) this.store(key, tenantId, body);
      return body;
    });
    this.inFlight.set(key, { generation, body });
    const forget = () => {
      if (this.inFlight.get(key)?.body === body) this.inFlight.delete(key);
    };
    body.then(forget, forget);
    return body;
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
    // Fresh for between half the TTL and three quarters of it, then answered (and refreshed) until
    // the TTL: entries filled together (a restart, a burst of new dashboards) would otherwise all be
    // read again in the same moment.
    const now = this.now();
    const { ttlMs } = this.opts;
    this.entries.set(key, {
      tenantId,
      bytes: Buffer.from(body),
      freshUntil: now + ttlMs * (0.5 + Math.random() * 0.25),
      usableUntil: now + ttlMs,
    });
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

interface Entry {
  tenantId: string;
  /** The body, UTF-8. */
  bytes: Buffer;
  /** Answered as it is until then; after it, answered while a read replaces it. */
  freshUntil: number;
  /** Never answered after it. */
  usableUntil: number;
}

const keyOf = (l: TenantLookup) =>
  'clerkOrgId' in l ? `o:${l.clerkOrgId}` : 'clerkUserId' in l ? `u:${l.clerkUserId}` : `t:${l.tenantId}`;
