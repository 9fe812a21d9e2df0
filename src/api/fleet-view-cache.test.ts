import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, tenantsWithFleets } from '../../test/harness/db.ts';
import type { TenantLookup } from '../db/fleet-view.ts';
import { appendLog } from '../db/provision-log.ts';
import { EventHub } from '../events/hub.ts';
import { createLogger } from '../observability/logger.ts';
import { FleetViewCache } from './fleet-view-cache.ts';

/**
 * The fleet view cache on a real database: how many reads its callers cause, and that no caller
 * is answered from a read that began before a change it must see.
 */
let database: TestDatabase;
let events: EventHub;
let tenant: { tenantId: string; fleetId: string };
const lookup: TenantLookup = { clerkOrgId: 'org_viewcache' };

/** The real cache, its reads counted, and each read held until the test lets it go when `hold` is set. */
class CountingCache extends FleetViewCache {
  reads = 0;
  hold: Promise<void> | undefined;
  failNext = false;
  protected override async readBody(l: TenantLookup) {
    this.reads++;
    const held = this.hold;
    const fail = this.failNext;
    this.failNext = false;
    const result = await super.readBody(l);
    await held;
    if (fail) throw new Error('read failed');
    return result;
  }
}

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

const reposOf = (body: string) => (JSON.parse(body) as { fleet: { repos: string[] } }).fleet.repos;

let cache: CountingCache;
/** The cache's clock, moved by the tests. */
let clock = 0;
const TTL_MS = 60_000;

beforeAll(async () => {
  database = await createTestDatabase();
  [tenant] = (await tenantsWithFleets(database.db, ['view_cache'])) as [{ tenantId: string; fleetId: string }];
  events = await EventHub.start(database.url, createLogger('silent'));
});

afterAll(async () => {
  await events.close();
  await database.drop();
});

beforeEach(async () => {
  await sql`UPDATE fleets SET repos = '["org/before"]'::jsonb WHERE id = ${tenant.fleetId}`.execute(database.db);
  clock = 1_000_000;
  cache = new CountingCache(database.db, events, { wholeRuns: 10 }, { maxEntries: 100, ttlMs: TTL_MS, now: () => clock });
});

describe('FleetViewCache', () => {
  it('answers a second caller from memory', async () => {
    const first = await cache.responseBody(lookup);
    expect(reposOf(first)).toEqual(['org/before']);
    expect(await cache.responseBody(lookup)).toBe(first);
    expect(cache.cachedBytes(lookup)?.toString()).toBe(first);
    expect(cache.reads).toBe(1);
  });

  it('gives callers who miss together one read', async () => {
    const bodies = await Promise.all(Array.from({ length: 20 }, () => cache.responseBody(lookup)));
    expect(cache.reads).toBe(1);
    expect(new Set(bodies).size).toBe(1);
    expect(reposOf(bodies[0]!)).toEqual(['org/before']);
  });

  it('never lets a caller who comes after an invalidation join a read that began before it', async () => {
    const held = gate();
    cache.hold = held.opened;
    const early = cache.responseBody(lookup);
    await until(() => cache.reads === 1);
    // The change commits, and this process hears of it, while the first read is still out.
    await sql`UPDATE fleets SET repos = '["org/after"]'::jsonb WHERE id = ${tenant.fleetId}`.execute(database.db);
    cache.invalidate(tenant.tenantId);
    cache.hold = undefined;
    const late = cache.responseBody(lookup);
    held.open();
    expect(reposOf(await late)).toEqual(['org/after']);
    await early;
    expect(cache.reads).toBe(2);
    // What is stored is the later read's answer, never the one that overlapped the change.
    expect(reposOf(cache.cachedBytes(lookup)!.toString())).toEqual(['org/after']);
  });

  it('gives every waiting caller a failed read, and reads again for the next', async () => {
    const held = gate();
    cache.hold = held.opened;
    cache.failNext = true;
    const waiting = [cache.responseBody(lookup), cache.responseBody(lookup)];
    held.open();
    for (const w of waiting) await expect(w).rejects.toThrow('read failed');
    expect(cache.reads).toBe(1);
    cache.hold = undefined;
    expect(reposOf(await cache.responseBody(lookup))).toEqual(['org/before']);
    expect(cache.reads).toBe(2);
  });

  it('answers an entry past its freshness while one background read replaces it, and never one past its TTL', async () => {
    const before = await cache.responseBody(lookup);
    await sql`UPDATE fleets SET repos = '["org/after"]'::jsonb WHERE id = ${tenant.fleetId}`.execute(database.db);
    // Still fresh: no read (the change above wrote no event, so only the TTL can bring it).
    clock += TTL_MS * 0.49;
    expect(cache.cachedBytes(lookup)?.toString()).toBe(before);
    expect(cache.reads).toBe(1);
    // Past any entry's freshness, before its TTL: the old answer, and one refresh however many ask.
    clock += TTL_MS * 0.27;
    for (let i = 0; i < 10; i++) expect(cache.cachedBytes(lookup)?.toString()).toBe(before);
    expect(cache.reads).toBe(2);
    await until(() => cache.cachedBytes(lookup)?.toString() !== before);
    expect(reposOf(cache.cachedBytes(lookup)!.toString())).toEqual(['org/after']);
    expect(cache.reads).toBe(2);
    // Past the TTL of the refreshed entry: never answered; the next caller waits for a read.
    clock += TTL_MS;
    expect(cache.cachedBytes(lookup)?.toString()).toBeUndefined();
    await cache.responseBody(lookup);
    expect(cache.reads).toBe(3);
  });

  it('never answers an invalidated entry, however fresh', async () => {
    await cache.responseBody(lookup);
    cache.invalidate(tenant.tenantId);
    expect(cache.cachedBytes(lookup)?.toString()).toBeUndefined();
    expect(cache.reads).toBe(1);
  });

  it('drops a tenant when an event of its fleet is written', async () => {
    const before = await cache.responseBody(lookup);
    await appendLog(database.db, {
      fleetId: tenant.fleetId,
      tenantId: tenant.tenantId,
      runId: null,
      step: 'vm_create',
      status: 'complete',
      message: 'written after the cache was filled',
      durationMs: 1,
    });
    await until(() => cache.cachedBytes(lookup)?.toString() === undefined);
    const after = await cache.responseBody(lookup);
    expect(after).not.toBe(before);
    expect(after).toContain('written after the cache was filled');
    expect(cache.reads).toBe(2);
  });
});

async function until(done: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
