import { afterEach, describe, expect, it } from 'vitest';
import { checkMissionControl, type CheckMissionControlOptions } from '../../src/connectivity/mission-control.ts';
import { TerminalError, TransientError } from '../../src/domain/step-errors.ts';
import {
  startMissionControlStandin,
  type MissionControlStandin,
  type MissionControlStandinOptions,
} from '../standins/mission-control-server.ts';
import { FAST, LOOPBACK_OUTBOUND, expectNoSecrets, failureOf } from './helpers.ts';

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
  checkMissionControl({ url: s.url, token: TOKEN, outbound: LOOPBACK_OUTBOUND, ...FAST, ...overrides });

describe('checkMissionControl', () => {
  it('reports a healthy Mission Control with its address and timing', async () => {
    const s = await start();
    const result = await check(s);
    expect(result.status).toBe(200);
    expect(result.summary).toMatch(new RegExp(`^Mission Control: healthy at ${s.url}/health \\(200 in \\d+ ms\\)$`));
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
    expect(e.message).toBe(`Mission Control health check (GET ${s.url}/health) failed: the server answered 503.`);
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
    const e = await failureOf(() => checkMissionControl({ url, token: TOKEN, outbound: LOOPBACK_OUTBOUND, ...FAST, maxRetries: 1 }));
    expect(e).toBeInstanceOf(TransientError);
    expect(e.message).toContain('could not connect (ECONNREFUSED)');
  });
});

describe('checkMissionControl: a URL the tenant chose', () => {
  it('refuses loopback unless the tests allow it, and sends nothing', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { outbound: { allowHttp: true, allowLoopback: false } }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      `Mission Control URL ${s.url} points at a loopback address, which the control plane does not call. Use Mission Control's public https address and provision again.`,
    );
    const named = await failureOf(() =>
      check(s, { url: s.url.replace('127.0.0.1', 'localhost'), outbound: { allowHttp: true, allowLoopback: false } }),
    );
    expect(named.message).toContain('points at localhost');
    expect(s.requests).toHaveLength(0);
  });

  it('requires https outside dev mode, loopback allowed or not', async () => {
    const s = await start();
    const e = await failureOf(() => check(s, { outbound: { allowHttp: false, allowLoopback: true } }));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toContain(`Mission Control URL ${s.url} must start with https://.`);
    expect(s.requests).toHaveLength(0);
  });

  it('does not follow a redirect, not even to an address it may call', async () => {
    const s = await start();
    const other = await startMissionControlStandin({ token: TOKEN });
    try {
      s.failNext(302, { headers: { location: `${other.url}/health` } });
      const e = await failureOf(() => check(s));
      expect(e).toBeInstanceOf(TerminalError);
      expect(e.message).toBe(
        `Mission Control health check (GET ${s.url}/health) answered with a redirect (302), and redirects are not followed. Use the address the server redirects to (its final https address) and provision again.`,
      );
      expect(other.requests).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('never quotes what the server answered: status codes and our own words only', async () => {
    const s = await start({ version: 'root:x:0:0:INTERNAL-PAGE' });
    expect((await check(s)).summary).not.toContain('INTERNAL-PAGE');
    s.failNext(418, { rawBody: 'ami-id INTERNAL-PAGE' });
    const unexpected = await failureOf(() => check(s));
    expect(unexpected.message).toBe(
      `Mission Control at ${s.url}/health answered 418, which the check does not expect. Check the Mission Control URL and provision again.`,
    );
    s.failNext(503, { rawBody: 'INTERNAL-PAGE', times: 2 });
    const outage = await failureOf(() => check(s, { maxRetries: 1 }));
    expect(outage.message).toBe(`Mission Control health check (GET ${s.url}/health) failed: the server answered 503.`);
  });
});
