import type { Context } from 'hono';

/** One Server-Sent Event; `data` must be one line (JSON is). */
export interface SseMessage {
  event?: string;
  id?: string;
  data: string;
  retry?: number;
}

const encoder = new TextEncoder();

/**
 * A Server-Sent Events response body that is one ReadableStream and nothing more. Hono's
 * `streamSSE` puts a TransformStream and a second ReadableStream between the writer and the
 * socket, with an encoder each: three web streams, and a dozen promises per event, for every open
 * stream. With 1,000 streams that was most of the server's memory per stream and much of its
 * garbage per event (bench:sse).
 *
 * Writes wait while the client is not reading (the stream asks for more by `pull`), so a slow
 * client slows its own writer instead of queueing its events in memory. A client that leaves
 * cancels the body: `aborted` turns true and the `onAbort` listeners run.
 */
export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Writers waiting for the client to read (all are released together: their chunks are queued already). */
  private waitingWriters: Array<() => void> = [];
  private readonly abortListeners: Array<() => void> = [];
  private ended = false;
  aborted = false;

  constructor() {
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      pull: () => this.releaseWriters(),
      cancel: () => this.abort(),
    });
  }

  /** Writes raw text (a comment line, say); resolves once the client may take more. */
  async write(text: string): Promise<void> {
    if (this.ended || this.aborted) return;
    this.controller.enqueue(encoder.encode(text));
    if ((this.controller.desiredSize ?? 1) <= 0) {
      await new Promise<void>((resolve) => this.waitingWriters.push(resolve));
    }
  }

  /** Writes one event in the SSE format. */
  writeSSE(message: SseMessage): Promise<void> {
    for (const field of [message.event, message.id]) {
      if (field !== undefined && /[\r\n]/.test(field)) throw new Error('an SSE event name or id must not contain a line break');
    }
    const lines = message.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`);
    if (message.event) lines.unshift(`event: ${message.event}`);
    if (message.id !== undefined) lines.push(`id: ${message.id}`);
    if (message.retry !== undefined) lines.push(`retry: ${message.retry}`);
    return this.write(`${lines.join('\n')}\n\n`);
  }

  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  /** Ends the response (the client sees the stream end). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.aborted) this.controller.close();
  }

  private releaseWriters(): void {
    for (const resolve of this.waitingWriters.splice(0)) resolve();
  }

  private abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.releaseWriters(); // a client that left must not keep a writer waiting for ever
    for (const listener of this.abortListeners.splice(0)) listener();
  }
}

/**
 * The SSE response for `c`: `run` writes to the stream, which ends when `run` returns or throws
 * (thrown errors go to `onError`, never to the client).
 */
export function sseResponse(c: Context, run: (stream: SseStream) => Promise<void>, onError: (err: unknown) => void): Response {
  const stream = new SseStream();
  void run(stream)
    .catch(onError)
    .finally(() => stream.close());
  c.header('Transfer-Encoding', 'chunked');
  c.header('Content-Type', 'text/event-stream');
  c.header('Cache-Control', 'no-cache');
  c.header('Connection', 'keep-alive');
  return c.newResponse(stream.body);
}
