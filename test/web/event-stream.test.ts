import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { followEventStream, RECONNECT_MS, type StreamState } from '../../web/src/fleet/event-stream.ts';

/**
 * The dashboard's event stream against a real HTTP server speaking SSE: it reconnects with
 * Last-Event-ID and a fresh token, and waits as long as the server's `retry:` says (a restarting
 * server sends one), not its own default.
 */
interface Connection {
  at: number;
  lastEventId: string | undefined;
  authorization: string | undefined;
}

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function sseServer(
  answer: (n: number, res: http.ServerResponse) => void,
): Promise<{ url: string; connections: Connection[]; ends: number[] }> {
  const connections: Connection[] = [];
  const ends: number[] = [];
  server = http.createServer((req, res) => {
    connections.push({
      at: performance.now(),
      lastEventId: req.headers['last-event-id'] as string | undefined,
      authorization: req.headers.authorization,
    });
    res.on('finish', () => ends.push(performance.now()));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    answer(connections.length, res);
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/fleet/events`, connections, ends };
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the dashboard event stream', () => {
  it("reconnects after the server's retry, with Last-Event-ID and a fresh token", async () => {
    const s = await sseServer((n, res) => {
      if (n === 1) {
        res.write('event: log\nid: 41\ndata: {"step":"vm_create"}\n\n');
        // A restarting server: everything sent, then when to come back, then the end.
        res.end('event: shutdown\nretry: 200\ndata: {"message":"restarting"}\n\n');
      } else res.write('event: log\nid: 42\ndata: {"step":"agent_config"}\n\n');
    });
    const abort = new AbortController();
    const events: Array<[string, unknown]> = [];
    const states: StreamState[] = [];
    let tokens = 0;
    const following = followEventStream({
      url: s.url,
      getToken: async () => `token-${++tokens}`,
      onEvent: (type, data) => events.push([type, data]),
      onState: (st) => states.push(st),
      signal: abort.signal,
    });
    await until(() => events.length === 2);
    abort.abort();
    await following;
    expect(events).toEqual([
      ['log', { step: 'vm_create' }],
      ['log', { step: 'agent_config' }],
    ]);
    const [first, second] = s.connections;
    expect(first).toMatchObject({ lastEventId: undefined, authorization: 'Bearer token-1' });
    expect(second).toMatchObject({ lastEventId: '41', authorization: 'Bearer token-2' });
    // The server said 200 ms; the stream's own default is 1,500.
    const gap = second!.at - s.ends[0]!;
    expect(gap).toBeGreaterThanOrEqual(150);
    expect(gap).toBeLessThan(RECONNECT_MS - 300);
    expect(states[0]).toEqual({ live: true });
  });

  it('bounds a retry too short to be meant (at least 250 ms)', async () => {
    const s = await sseServer((n, res) => {
      if (n === 1) res.end('retry: 1\nid: 7\ndata: {}\n\n');
      else res.write(': waiting\n\n');
    });
    const abort = new AbortController();
    const following = followEventStream({
      url: s.url,
      getToken: async () => 't',
      onEvent: () => {},
      onState: () => {},
      signal: abort.signal,
    });
    await until(() => s.connections.length === 2);
    abort.abort();
    await following;
    expect(s.connections[1]!.at - s.ends[0]!).toBeGreaterThanOrEqual(200);
  });
});
