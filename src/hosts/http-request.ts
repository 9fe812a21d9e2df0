import http from 'node:http';
import type { Duplex } from 'node:stream';
import { StepFailure } from '../domain/step-errors.ts';
import { type HttpAnswer, HostHttpError } from './host.ts';

/** Bodies of answers from the machine are cut here: a health probe never needs more. */
export const MAX_BODY_BYTES = 1 << 20;

export interface MachineRequestOptions {
  timeoutMs: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** Sent as is; the caller sets its content type. */
  body?: string;
}

/**
 * One HTTP/1.1 request to 127.0.0.1:`port` as the machine sees it, for both hosts: LocalHost dials
 * the port, SshHost hands over a stream forwarded through its SSH connection (`connect`). The
 * timeout covers everything (connecting, waiting, reading), not just idle time, so a server that
 * trickles bytes cannot hold a health probe forever; a body past 1 MiB is cut and the rest not read.
 */
export function machineRequest(
  port: number,
  urlPath: string,
  opts: MachineRequestOptions,
  connect?: () => Promise<Duplex>,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest | undefined;
    let stream: Duplex | undefined;
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
      req?.destroy();
      stream?.destroy();
    };
    const fail = (e: unknown) => finish(() => reject(toHostHttpError(port, e)));
    const timer = setTimeout(() => fail(new HostHttpError(port, 'timeout', `no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);

    const send = (socket?: Duplex) => {
      if (settled) return;
      stream = socket;
      req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: urlPath,
          method: opts.method ?? 'GET',
          headers: opts.headers,
          agent: false, // one connection per request: nothing pooled across requests or hosts
          ...(socket ? { createConnection: () => socket as never } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const done = () =>
            finish(() =>
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8') }),
            );
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            size += chunk.length;
            if (size >= MAX_BODY_BYTES) done();
          });
          res.on('end', done);
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.end(opts.body);
    };
    // Failing to reach the machine at all (SSH unreachable, host key changed) is not "no HTTP
    // answer": those errors keep their own type (TransientError, HostKeyMismatchError).
    const unreachable = (e: unknown) => (e instanceof StepFailure ? finish(() => reject(e)) : fail(e));
    if (connect) connect().then(send, unreachable);
    else send();
  });
}

function toHostHttpError(port: number, e: unknown): HostHttpError {
  if (e instanceof HostHttpError) return e;
  const error = e as NodeJS.ErrnoException & { reason?: number };
  const message = error?.message ?? String(e);
  // ECONNREFUSED locally; over SSH the server's channel-open failure says "Connection refused"
  // (reason 2, connect failed).
  if (error?.code === 'ECONNREFUSED' || /refused/i.test(message)) return new HostHttpError(port, 'refused', message);
  if (error?.code === 'ECONNRESET' || /socket hang up|reset/i.test(message)) return new HostHttpError(port, 'reset', message);
  return new HostHttpError(port, 'other', message);
}
