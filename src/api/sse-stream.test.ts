import { describe, expect, it } from 'vitest';
import { SseStream } from './sse-stream.ts';

const decoder = new TextDecoder();
const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('SseStream', () => {
  it('writes events in the SSE format: event, one data line per line, id, retry, a blank line', async () => {
    const stream = new SseStream();
    const reader = stream.body.getReader();
    void stream.writeSSE({ event: 'log', id: '7', data: 'a\nb', retry: 1000 });
    expect(decoder.decode((await reader.read()).value)).toBe('event: log\ndata: a\ndata: b\nid: 7\nretry: 1000\n\n');
    void stream.writeSSE({ data: '{}' });
    expect(decoder.decode((await reader.read()).value)).toBe('data: {}\n\n');
    expect(() => stream.writeSSE({ event: 'a\nb', data: '' })).toThrow(/line break/);
  });

  it('makes a writer wait until the client has read its chunk (a client reading already takes it at once)', async () => {
    const stream = new SseStream();
    const reader = stream.body.getReader();
    const unread = stream.write('one\n');
    expect(await settled(unread)).toBe(false); // nobody reads yet
    expect(decoder.decode((await reader.read()).value)).toBe('one\n');
    expect(await settled(unread)).toBe(true);

    const pendingRead = reader.read(); // as the HTTP server's loop always has one waiting
    expect(await settled(stream.write('two\n'))).toBe(true);
    expect(decoder.decode((await pendingRead).value)).toBe('two\n');
  });

  it('on a client leaving: aborted, its listeners run, and a waiting writer is released', async () => {
    const stream = new SseStream();
    const reader = stream.body.getReader();
    const heard: string[] = [];
    stream.onAbort(() => heard.push('abort'));
    const waiting = stream.write('one\n');
    expect(await settled(waiting)).toBe(false);
    await reader.cancel();
    expect(stream.aborted).toBe(true);
    expect(heard).toEqual(['abort']);
    expect(await settled(waiting)).toBe(true);
    await stream.write('after'); // ignored, does not throw
  });

  it('close() ends the body for the client', async () => {
    const stream = new SseStream();
    const reader = stream.body.getReader();
    void stream.write('last\n');
    stream.close();
    expect(decoder.decode((await reader.read()).value)).toBe('last\n');
    expect((await reader.read()).done).toBe(true);
  });
});
