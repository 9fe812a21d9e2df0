/**
 * Is the gateway answering on a port the fleet's own? Health endpoints answer anyone, so a
 * healthy answer only says that *a* gateway listens there: another fleet's (given the same port),
 * or whatever took the port first. A gateway proves it holds the fleet's token by telling it
 * from a wrong one on an authenticated route: `POST /tools/invoke` checks the bearer token
 * before anything else (401 on a wrong one) and, with the right one and no tool named, refuses
 * the request (400) without running anything.
 *
 * The wrong token is sent first: a server that lets it in enforces no auth at all, and never
 * gets to see the fleet's token.
 */
import { randomBytes } from 'node:crypto';
import type { Host } from '../hosts/host.ts';

/** `ours`: it holds the token; `foreign`: a gateway holding another token; `unproven`: anything else. */
export type GatewayIdentity = { verdict: 'ours' } | { verdict: 'foreign' } | { verdict: 'unproven'; reason: string };

const IDENTITY_PATH = '/tools/invoke';

async function invoke(host: Host, port: number, token: string, timeoutMs: number): Promise<number | string> {
  try {
    const answer = await host.request(port, IDENTITY_PATH, {
      timeoutMs,
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    return answer.status;
  } catch (error) {
    return (error as Error).message;
  }
}

const refusesToken = (status: number | string) => status === 401 || status === 403;

export async function gatewayIdentity(host: Host, port: number, token: string, timeoutMs = 2000): Promise<GatewayIdentity> {
  const wrong = await invoke(host, port, `wrong-${randomBytes(18).toString('base64url')}`, timeoutMs);
  if (!refusesToken(wrong)) {
    return { verdict: 'unproven', reason: `a wrong token got ${typeof wrong === 'number' ? `HTTP ${wrong}` : wrong}, not 401` };
  }
  const right = await invoke(host, port, token, timeoutMs);
  if (refusesToken(right)) return { verdict: 'foreign' };
  if (typeof right === 'number' && right < 500 && right !== 429) return { verdict: 'ours' };
  return { verdict: 'unproven', reason: `the fleet's token got ${typeof right === 'number' ? `HTTP ${right}` : right}` };
}
