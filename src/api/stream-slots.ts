/**
 * Counts the event streams each user holds in this process, so one user cannot hold every socket
 * and LISTEN fan-out slot of the server. A slot is taken before a stream starts and given back
 * exactly once when it ends, however it ends (client gone, session expired, error).
 */
export class StreamSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly maxPerUser: number) {}

  /** A release function, or undefined when `userId` already holds the most streams allowed. */
  tryAcquire(userId: string): (() => void) | undefined {
    const count = this.held.get(userId) ?? 0;
    if (count >= this.maxPerUser) return undefined;
    this.held.set(userId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(userId) ?? 1) - 1;
      if (left > 0) this.held.set(userId, left);
      else this.held.delete(userId);
    };
  }
}
