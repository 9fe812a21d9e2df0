import { afterEach, describe, expect, it } from 'vitest';
import { checkMissionControl, type CheckMissionControlOptions } from '../../src/connectivity/mission-control.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import {
  startMissionControlStandin,
  type MissionControlStandin,
  type MissionControlStandinOptions,
} from '../standins/mission-control-server.ts';
import { FAST, expectNoSecrets, failureOf } from './helpers.ts';

const TOKEN = 'mc_live_7f3a9c1e5b2d4f6a8c0e';
let standin: MissionControlStandin | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

async function start(overrides: Partial<MissionControlStandinOptions> = {}): Promise<MissionControlStandin> {
  standin = await startMissionControlStandin({ token: TOKEN, version: '1.4.2', ...overrides });
  return standin;
}
const check = (s: MissionControlStandin, overrides: Partial<CheckMissionControlOptions> = {}) =>
  checkMissionControl({ url: s.url, token: TOKEN, ...FAST, ...overrides });

describe('checkMissionControl', () => {
  it('reports a healthy Mission Control with its address and timing', async () => {
    const s = await start();
    const result = await check(s);
    expect(result.status).toBe(200);
    expect(result.summary).toMatch(new RegExp(`^Mission Control: healthy at ${s.url}/health \\(200 in \\d+ ms, version 1\\.4\\.2\\)$`));
    expect(s.requests).toEqual([{ method: 'GET', path: '/health', caller: 'token', status: 200 }]);
    expectNoSecrets(result, [TOKEN]);
  });

  it('uses a configured health path and tolerates a trailing slash on the URL', async () => {
    const s = await start({ healthPath: '/api/v1/health' });
    const result = await check(s, { url: `${s.url}/`, healthPath: 'api/v1/health' });
    expect(result.summary).toContain(`${s.url}/api/v1/health`);
  });

  it('says the token was rejected, without the token', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { token: 'mc_live_wrong_token_000' }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      `Mission Control at ${s.url} rejected the token (403). Create a new API token in Mission Control, save it in the fleet's Mission Control settings and provision again.`,
    );
    expectNoSecrets(e, [TOKEN, 'mc_live_wrong_token_000']);
  });

  it('refuses an empty or malformed token before any request', async () => {
    const s = await start();
    expect((await failureOf(() => check(s, { token: '' }))).message).toContain('No Mission Control token is set');
    const e = await failureOf(() => check(s, { token: `Bearer ${TOKEN}` }));
    expect(e.message).toContain('no "Bearer " prefix');
    expectNoSecrets(e, [TOKEN]);
    expect(s.requests).toHaveLength(0);
  });

  it('says the URL is wrong on 404', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { url: `${s.url}/dashboard` }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain(
      `Mission Control's health endpoint was not found at ${s.url}/dashboard/health (404). Check the Mission Control URL`,
    );
  });

  it('refuses URLs it cannot use', async () => {
    const s = await start();
    expect((await failureOf(() => check(s, { url: 'mission-control.example.com' }))).message).toContain('is not a valid URL');
    expect((await failureOf(() => check(s, { url: 'ftp://mc.example.com' }))).message).toContain('must start with https://');
    const e = await failureOf(() => check(s, { url: s.url.replace('http://', 'http://admin:hunter22@') }));
    expect(e.message).toContain('must not contain a user name or password');
    expectNoSecrets(e, ['hunter22']);
  });

  it('retries 5xx and a dropped connection, then succeeds', async () => {
    const s = await start();
    s.failNext(503);
    s.failNext('drop');
    s.failNext(502);
    expect((await check(s)).status).toBe(200);
    expect(s.requests.map((r) => r.status)).toEqual([503, 0, 502, 200]);
  });

  it('honours Retry-After on a 429', async () => {
    const s = await start();
    s.failNext(429, { retryAfterSec: 0.06 });
    const started = Date.now();
    await check(s);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(s.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('turns a lasting outage into a TransientError', async () => {
    const s = await start();
    s.setHealthy(false);
    const e = await failureOf(() => check(s, { maxRetries: 2 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toBe(`Mission Control health check (GET ${s.url}/health) failed after 3 attempt(s): the server answered 503.`);
    expect(s.requests).toHaveLength(3);
  });

  it('turns a timeout into a TransientError', async () => {
    const s = await start({ latencyMs: 300 });
    const e = await failureOf(() => check(s, { timeoutMs: 50, maxRetries: 1 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain('no answer within 50 ms');
  });

  it('turns a refused connection into a TransientError that names the cause', async () => {
    const s = await start();
    const url = s.url;
    await s.close();
    standin = undefined;
    const e = await failureOf(() => checkMissionControl({ url, token: TOKEN, ...FAST, maxRetries: 1 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain('could not connect (ECONNREFUSED)');
  });
});
