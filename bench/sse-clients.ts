/**
 * The SSE clients of `npm run bench:sse`, in a process of their own so that reading 1,000 streams
 * never competes with the writer or hides inside the server's figures. Plain `node:http` (fetch's
 * web streams cost several times the CPU per chunk). Driven over IPC by bench/sse.ts:
 *   ← { type: 'open', url, tokens }   → { type: 'opened', count } once every stream answered 200
 *   ← { type: 'report' }              → { type: 'report', latencies, delivered, duplicates, … }
 * A written entry's message is `sse-<tenant>-<seq>-<epoch ms>`: the writer's clock, read here on
 * the same machine's clock (performance.timeOrigin + now), so latency needs no shared memory.
 */
import http from 'node:http';

const MARK = /"message": ?"sse-(\d+-\d+)-(\d+\.\d+)"/g;
const latencies: number[] = [];
const seen = new Set<string>();
let duplicates = 0;
let streamErrors = 0;
let endedEarly = 0;
const requests: http.ClientRequest[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

const send = (msg: unknown) => process.send?.(msg);

function open(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/api/fleet/events`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const now = performance.timeOrigin + performance.now();
        buffer += chunk;
        for (const m of buffer.matchAll(MARK)) {
          if (seen.has(m[1]!)) {
            duplicates++;
            continue;
          }
          seen.add(m[1]!);
          latencies.push(now - Number(m[2]));
        }
        // Keep only an unfinished event (after the last blank line) for the next chunk.
        buffer = buffer.slice(buffer.lastIndexOf('\n\n') + 2);
      });
      res.on('end', () => endedEarly++);
      res.on('error', () => streamErrors++);
    });
    req.on('error', (e) => {
      streamErrors++;
      reject(e);
    });
    requests.push(req);
  });
}

process.on('message', async (msg: { type: string; url?: string; tokens?: string[] }) => {
  if (msg.type === 'open') {
    // In waves, as dashboards reconnecting would; all at once only measures the accept queue.
    const tokens = msg.tokens!;
    for (let i = 0; i < tokens.length; i += 50) {
      await Promise.all(tokens.slice(i, i + 50).map((t) => open(msg.url!, t)));
    }
    send({ type: 'opened', count: tokens.length });
  } else if (msg.type === 'report') {
    send({
      type: 'report',
      latencies,
      delivered: seen.size,
      duplicates,
      streamErrors,
      endedEarly,
    });
  } else if (msg.type === 'close') {
    for (const r of requests) r.destroy();
    process.exit(0);
  }
});
send({ type: 'ready' });
