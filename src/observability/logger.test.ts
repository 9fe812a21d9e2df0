import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('the logger', () => {
  it('logs an error as what it says, never as the connection objects it carries', () => {
    let line = '';
    const sink = new Writable({
      write(chunk, _enc, done) {
        line += chunk.toString();
        done();
      },
    });
    // What pg attaches to a connection error: its client, with the server's cancel secret.
    const err = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
      severity: 'FATAL',
      client: { processID: 29785, secretKey: 1317756276, connectionParameters: { user: 'fleet_app', password: 'hunter2' } },
      cause: Object.assign(new Error('socket closed'), { connection: { secretKey: 42 } }),
    });
    createLogger('info', sink).error({ err }, 'job queue error');
    const logged = JSON.parse(line) as { err: Record<string, unknown> };
    expect(logged.err).toMatchObject({ type: 'Error', message: 'terminating connection due to administrator command', code: '57P01' });
    expect(logged.err.cause).toMatchObject({ message: 'socket closed' });
    expect(line).not.toMatch(/secretKey|processID|hunter2|connectionParameters/);
  });
});
