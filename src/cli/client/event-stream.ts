import { EventSourceParserStream } from 'eventsource-parser/stream';
import { refused, unreachable } from './api-call.ts';
import { CliError, EXIT } from './cli-error.ts';
import type { Connection } from './connection.ts';

/** One event of GET /api/fleet/events: `snapshot`, `status`, `log` or `session-expired`. */
export interface FleetEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

// A server that restarts ends its streams; reconnecting with Last-Event-ID loses nothing.
const MAX_RECONNECTS = 5;
const RECONNECT_DELAY_MS = 1000;

/**
 * The caller's fleet events, in order, for as long as the consumer reads them. Starts after
 * `since` (an event id: `0` replays every event) or, without it, with a snapshot of the fleet.
 * A dropped stream is resumed with Last-Event-ID; a refusal is a CliError with the server's message.
 */
export async function* fleetEvents(conn: Connection, since?: string): AsyncGenerator<FleetEvent> {
  let cursor = since;
  let failures = 0;
  for (;;) {
    const abort = new AbortController();
    let body: ReadableStream<Uint8Array> | undefined;
    try {
      const r = await conn.api.GET('/api/fleet/events', {
        parseAs: 'stream',
        headers: cursor === undefined ? {} : { 'last-event-id': cursor },
        signal: abort.signal,
      });
      if (!r.response.ok || !r.data) throw refused(r.response, r.error);
      body = r.data;
    } catch (e) {
      if (e instanceof CliError) throw e;
      if (++failures > MAX_RECONNECTS) throw unreachable(conn.url, e);
      await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
      continue;
    }
    try {
      const events = body
        // @types/node types the decoder's input as BufferSource, which a byte stream is.
        .pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
        .pipeThrough(new EventSourceParserStream());
      for await (const message of events) {
        failures = 0;
        if (message.id !== undefined) cursor = message.id;
        yield { id: message.id, event: message.event ?? 'message', data: parseData(message.data) };
      }
    } catch {
      // The connection broke mid-stream: resume below.
    } finally {
      abort.abort();
    }
    if (++failures > MAX_RECONNECTS) {
      throw new CliError(
        'The event stream keeps closing.',
        'Check that the server is up (`fleet status`), then watch again.',
        EXIT.unreachable,
      );
    }
    await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
  }
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
