/** Reads Server-Sent Events from a fetch Response body, as a browser's EventSource would parse them. */
export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export class SseReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  readonly events: SseEvent[] = [];
  /** The last `retry:` field the server sent (ms), as EventSource would keep it for reconnecting. */
  retryMs: number | undefined;

  constructor(res: Response) {
    if (!res.body) throw new Error('response has no body');
    this.reader = res.body.getReader();
  }

  /** Waits until `predicate` holds for the events read so far (or throws after `timeoutMs`). */
  async until(predicate: (events: SseEvent[]) => boolean, timeoutMs = 10_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`SSE condition not met in ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      const chunk = await Promise.race([this.reader.read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), remaining))]);
      if (chunk === 'timeout') continue;
      if (chunk.done) throw new Error('SSE stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      this.parse();
    }
    return this.events;
  }

  /** Reads until the server ends the stream; resolves with every event (throws after `timeoutMs`). */
  async ended(timeoutMs = 10_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`SSE stream still open after ${timeoutMs} ms`);
      const chunk = await Promise.race([this.reader.read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), remaining))]);
      if (chunk === 'timeout') continue;
      if (chunk.done) return this.events;
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
      this.parse();
    }
  }

  private parse(): void {
    for (let idx = this.buffer.indexOf('\n\n'); idx >= 0; idx = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, idx);
      this.buffer = this.buffer.slice(idx + 2);
      const ev: SseEvent = { event: 'message', data: '' };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'event') ev.event = value;
        else if (field === 'id') ev.id = value;
        else if (field === 'data') data.push(value);
        else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
      }
      if (data.length === 0 && ev.event === 'message') continue;
      ev.data = data.join('\n');
      this.events.push(ev);
    }
  }

  async close(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}
