import type { Db } from '../db/connection.ts';
import { eventsAfterEach, type StoredEvent } from '../db/events.ts';

/**
 * Reads "tenant T's events after cursor C" for every event stream of a process, several asks to a
 * statement. Each NOTIFY wakes the streams of one tenant, and each stream must read what it has
 * not sent; one query per stream per event made 1,000 streams cost 1,000 round trips a second,
 * each holding a pooled connection, and queued behind each other (a p99 of hundreds of ms).
 *
 * Asks made in the same turn of the event loop, and all those made while `maxInFlight`
 * statements are running, go out together: idle, an ask waits for nothing but the next turn;
 * busy, the batches grow instead of the queue. Identical asks (two tabs on one tenant, one cursor)
 * share one answer.
 */
export class BatchedEventReader {
  private waiting = new Map<string, { tenantId: string; cursor: number; settle: Array<Settle> }>();
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly db: Db,
    private readonly opts: { limit: number; maxInFlight: number; maxBatch: number } = { limit: 1000, maxInFlight: 2, maxBatch: 500 },
  ) {}

  /** The tenant's events after `cursor`, oldest first, at most `limit` of them. */
  after(tenantId: string, cursor: number): Promise<StoredEvent[]> {
    return new Promise((resolve, reject) => {
      const key = `${tenantId}\u0000${cursor}`;
      const ask = this.waiting.get(key) ?? { tenantId, cursor, settle: [] };
      ask.settle.push({ resolve, reject });
      this.waiting.set(key, ask);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.waiting.size === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    while (this.inFlight < this.opts.maxInFlight && this.waiting.size > 0) {
      const batch = [...this.waiting.entries()].slice(0, this.opts.maxBatch);
      for (const [key] of batch) this.waiting.delete(key);
      const asks = batch.map(([, ask]) => ask);
      this.inFlight++;
      eventsAfterEach(this.db, asks, this.opts.limit)
        .then(
          (answers) => {
            for (const [i, ask] of asks.entries()) for (const s of ask.settle) s.resolve(answers[i]!);
          },
          (err: unknown) => {
            for (const ask of asks) for (const s of ask.settle) s.reject(err);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }
}

interface Settle {
  resolve(events: StoredEvent[]): void;
  reject(err: unknown): void;
}
