import { afterEach, describe, expect, it } from 'vitest';
import { checkMissionControl } from '../../src/connectivity/mission-control.ts';
import { OutboundRefusedError, outboundFetch, type ResolveAll } from '../../src/connectivity/outbound-fetch.ts';
import { TerminalError } from '../../src/domain/step-errors.ts';
import { type MissionControlStandin, startMissionControlStandin } from '../standins/mission-control-server.ts';
import { FAST, LOOPBACK_OUTBOUND, failureOf } from './helpers.ts';

/**
 * The connection-time half of the outbound guard: a name is resolved once, every address it has
 * is checked, and the socket goes to a checked address. Names resolve through a scripted resolver
 * (no DNS leaves this machine); the stand-in on 127.0.0.1 plays the server.
 */
const TOKEN = 'mc_guard_token_123456';
let standin: MissionControlStandin | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

function scripted(answers: Record<string, string[]>): ResolveAll & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (host: string) => {
    asked.push(host);
    const found = answers[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

const port = (s: MissionControlStandin) => new URL(s.url).port;

describe('outboundFetch', () => {
  it('connects to the checked address, resolving the name once', async () => {
    standin = await startMissionControlStandin({ token: TOKEN });
    const resolve = scripted({ 'mc.tenant.test': ['127.0.0.1'] });
    const f = outboundFetch(LOOPBACK_OUTBOUND, { resolveAll: resolve });
    const res = await f(`http://mc.tenant.test:${port(standin)}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(resolve.asked).toEqual(['mc.tenant.test']);
    expect(standin.requests).toEqual([{ method: 'GET', path: '/health', caller: 'token', status: 200 }]);
  });

  it.each([
    [['169.254.169.254'], /169\.254\.169\.254, a cloud metadata address/],
    [['10.0.0.7'], /10\.0\.0\.7, a private address/],
    [['93.184.215.14', '127.0.0.1'], /127\.0\.0\.1, a loopback address/],
    [['::ffff:192.168.1.1'], /a private address/],
    [['fd00:ec2::254'], /a cloud metadata address/],
    [['100.100.100.200'], /carrier-grade NAT/],
  ])('refuses a name that resolves to %j, and never connects', async (addresses, why) => {
    standin = await startMissionControlStandin({ token: TOKEN });
    const f = outboundFetch({ allowHttp: true, allowLoopback: false }, { resolveAll: scripted({ 'mc.tenant.test': addresses }) });
    const e = await failureOf(() => f(`http://mc.tenant.test:${port(standin!)}/health`, {}));
    const refusal = (e as { cause?: unknown }).cause;
    expect(refusal).toBeInstanceOf(OutboundRefusedError);
    expect((refusal as Error).message).toMatch(why);
    expect(standin.requests).toHaveLength(0);
  });

  it('lets loopback through only when the tests allow it, and keeps refusing private addresses then', async () => {
    standin = await startMissionControlStandin({ token: TOKEN });
    const f = outboundFetch(LOOPBACK_OUTBOUND, { resolveAll: scripted({ 'mc.tenant.test': ['127.0.0.1', '192.168.1.1'] }) });
    const e = await failureOf(() => f(`http://mc.tenant.test:${port(standin!)}/health`, {}));
    expect(((e as { cause?: Error }).cause as Error).message).toMatch(/192\.168\.1\.1, a private address/);
    expect(standin.requests).toHaveLength(0);
  });

  it('makes a refused name a terminal connectivity failure that says why', async () => {
    standin = await startMissionControlStandin({ token: TOKEN });
    const fetchImpl = outboundFetch(LOOPBACK_OUTBOUND, { resolveAll: scripted({ 'mc.tenant.test': ['169.254.169.254'] }) });
    const e = await failureOf(() =>
      checkMissionControl({
        url: `http://mc.tenant.test:${port(standin!)}`,
        token: TOKEN,
        outbound: LOOPBACK_OUTBOUND,
        fetchImpl,
        ...FAST,
      }),
    );
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.message).toBe(
      `Mission Control health check (GET http://mc.tenant.test:${port(standin)}/health) was not sent: mc.tenant.test resolves to 169.254.169.254, a cloud metadata address, which the control plane does not call. Use the service's public https address and provision again.`,
    );
  });
});
