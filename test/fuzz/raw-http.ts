import net from 'node:net';

/**
 * HTTP/1.1 over a bare socket: the bytes exactly as given (a browser or `fetch` would refuse to
 * send most of what the wire fuzz sends), and the answer parsed just enough to check it.
 */
export interface RawAnswer {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Headers;
  text: string;
  raw: string;
}

/** Sends `bytes` to 127.0.0.1:`port` and reads until the server closes the connection (or fails after `timeoutMs`). */
export function rawRequest(port: number, bytes: Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no end of the answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 300))}`,
        ),
      );
    }, timeoutMs);
    let streaming = false;
    socket.on('data', (d) => {
      chunks.push(d);
      // An event stream never ends by itself: its head and what comes at once are enough.
      if (!streaming && /\r\ncontent-type: text\/event-stream/i.test(Buffer.concat(chunks).toString('latin1'))) {
        streaming = true;
        setTimeout(() => socket.destroy(), 100);
      }
    });
    // The server may close while we still write (it refused the request early): that is an answer too.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks)));
    });
    // No half-close after writing: Node's server ends a connection whose client sent FIN, dropping
    // answers still being made. `Connection: close` in the request makes the server close it.
    socket.write(bytes);
  });
}

export function parseAnswer(buf: Buffer): RawAnswer {
  const raw = buf.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: new Headers(), text: '', raw };
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers = new Headers();
  for (const line of lines) {
    const at = line.indexOf(':');
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  let body = buf.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'));
  if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) body = dechunk(body);
  return { status, headers, text: body.toString('utf8'), raw };
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
