/**
 * What every stand-in server shares: a plain `node:http` server on 127.0.0.1 and an ephemeral
 * port, a log of requests (never their credentials), per-response latency, and queued faults.
 * The concrete stand-ins (discord-server.ts, mission-control-server.ts) only say how to answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as is (text/plain) instead of `body` as JSON: for answers no JSON encoder would make. */
  raw?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Who the credentials identify (e.g. a bot id), null when missing or unknown. Never the credential. */
  caller: string | null;
  /** What the stand-in answered; 0 when it dropped the connection. */
  status: number;
}

export interface FaultOptions {
  /** How many matching requests get the fault; default 1. */
  times?: number;
  /** Only requests whose path starts with this (the full path, e.g. '/api/v10/guilds/'). */
  pathPrefix?: string;
  /** For 429: the wait Discord-style bodies and `Retry-After` announce, in seconds; default 0.05. */
  retryAfterSec?: number;
  /** Answer this text (text/plain) instead of the API's own error body, e.g. one with NUL bytes. */
  rawBody?: string;
  /** Extra response headers, e.g. a `location` for a redirect. */
  headers?: Record<string, string>;
}

/** `'drop'` closes the socket without an answer: the client sees a network error. */
export type FaultStatus = number | 'drop';

export interface QueuedFault extends FaultOptions {
  status: FaultStatus;
  remaining: number;
}

export interface StandinControls {
  /** Grows with every request; a long benchmark can empty it with `requests.length = 0`. */
  requests: RecordedRequest[];
  /** Delay before every answer (faults included) from now on; 0 to stop. */
  setLatencyMs(ms: number): void;
  /** Answers the next matching request(s) with `status` (or drops them) instead of the real thing. */
  failNext(status: FaultStatus, opts?: FaultOptions): void;
  close(): Promise<void>;
}

export interface StandinServer extends StandinControls {
  origin: string;
}

export interface StandinHandlers {
  /** The real answer. `caller` is what `identify` returned. */
  answer(req: IncomingMessage, path: string, caller: string | null): StandinReply;
  /** Who the request's credentials belong to, or null. */
  identify(req: IncomingMessage): string | null;
  /** How this API words an injected failure. */
  fault(fault: QueuedFault): StandinReply;
}

export async function startStandin(handlers: StandinHandlers, latencyMs = 0): Promise<StandinServer> {
  const requests: RecordedRequest[] = [];
  const faults: QueuedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let latency = latencyMs;

  const respond = (res: ServerResponse, reply: StandinReply) => {
    const text = reply.raw ?? JSON.stringify(reply.body);
    const type = reply.raw === undefined ? 'application/json' : 'text/plain; charset=utf-8';
    res.writeHead(reply.status, { 'content-type': type, 'content-length': Buffer.byteLength(text), ...reply.headers });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const caller = handlers.identify(req);
    const fault = faults.find((f) => f.remaining > 0 && (f.pathPrefix === undefined || path.startsWith(f.pathPrefix)));
    let reply: StandinReply | 'drop';
    if (fault) {
      fault.remaining--;
      if (fault.status === 'drop') reply = 'drop';
      else {
        const r = handlers.fault(fault);
        reply = { ...r, headers: { ...r.headers, ...fault.headers }, ...(fault.rawBody !== undefined && { raw: fault.rawBody }) };
      }
    } else {
      reply = handlers.answer(req, path, caller);
    }
    requests.push({ method: req.method ?? 'GET', path, caller, status: reply === 'drop' ? 0 : reply.status });
    const send = () => (reply === 'drop' ? req.socket.destroy() : respond(res, reply));
    // Requests have no body we need; drain it so keep-alive sockets stay usable.
    req.resume();
    if (latency <= 0) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, latency);
    timers.add(t);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    setLatencyMs: (ms) => {
      latency = ms;
    },
    failNext: (status, opts = {}) => {
      faults.push({ ...opts, status, remaining: opts.times ?? 1 });
    },
    close: async () => {
      // Answers still waiting on latency would keep the process alive: cancel them and cut the sockets.
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
