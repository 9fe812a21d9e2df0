/** Shared fixtures for the connectivity tests: the seven agents of the standard fleet. */
import { inspect } from 'node:util';
import { expect } from 'vitest';

export const GUILD = '900100200300400500';
export const CHANNELS = ['900100200300400501', '900100200300400502', '900100200300400503', '900100200300400504', '900100200300400505'];
export const AGENTS = ['popashot', 'cantona', 'splinter', 'velma', 'tank', 'zerocool', 'slash'] as const;

/** Token-shaped secrets (base64 id . timestamp . hmac) that must never leave the check. */
export const tokenOf = (agent: string) => `MTAwMDAw${Buffer.from(agent).toString('base64url')}.GhXyZa.s3cr3t-${agent}-Q9vLk2`;
// Snowflakes exceed Number.MAX_SAFE_INTEGER, so build them as strings.
export const botIdOf = (agent: string) => `10000000000000000${AGENTS.indexOf(agent as (typeof AGENTS)[number]) + 1}`;

export const standinBots = () =>
  Object.fromEntries(AGENTS.map((a) => [tokenOf(a), { id: botIdOf(a), username: `${a[0]!.toUpperCase()}${a.slice(1)}` }]));

export const fleetBots = () => AGENTS.map((agentId) => ({ agentId, token: tokenOf(agentId) }));

/** What the stand-ins need of the outbound guard: they listen on loopback, over http (the rest stays). */
export const LOOPBACK_OUTBOUND = { allowHttp: true, allowLoopback: true } as const;

/** Fast retries for tests: the policy is the same, only the clock is shorter. */
export const FAST = { backoffBaseMs: 5, timeoutMs: 2_000 } as const;

/** Runs `fn`, expects it to reject, and returns the error. */
export async function failureOf(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure, got success');
}

/** Asserts that no secret appears anywhere in an error: message, stack, causes, own properties. */
export function expectNoSecrets(value: unknown, secrets: readonly string[]): void {
  const rendered = `${inspect(value, { depth: 10, showHidden: true })}\n${value instanceof Error ? `${value.message}\n${value.stack}` : JSON.stringify(value)}`;
  for (const s of secrets) expect(rendered).not.toContain(s);
}
