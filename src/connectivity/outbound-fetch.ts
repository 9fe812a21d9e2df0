import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { addressRefusal, type OutboundPolicy, urlRefusal } from '../util/outbound-address.ts';
import type { FetchLike } from './http.ts';

/**
 * `fetch` for URLs a tenant chose: the URL is judged first (util/outbound-address.ts), then, for
 * a name, every address it resolves to is checked at connection time and the socket connects to
 * one of exactly those addresses: the connector's own `lookup` is ours, so there is no second
 * lookup a DNS answer could change in between (rebinding). Redirects are never followed: the
 * caller gets the 3xx and says so.
 */

/** Why a tenant's URL was not called; `code` lets callers find it under fetch's wrapping. */
export class OutboundRefusedError extends Error {
  readonly code = 'EOUTBOUND_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

export type ResolveAll = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolve: ResolveAll = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

/** A connector lookup that answers only with checked addresses (and fails when any is refused). */
function checkedLookup(policy: OutboundPolicy, resolveAll: ResolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname).then(
      (found) => {
        const refused = found.map((a) => ({ ...a, why: addressRefusal(a.address, policy) })).find((a) => a.why !== undefined);
        if (refused) {
          // One bad address is enough: a resolver that mixes a public and a private answer is an attack.
          callback(
            new OutboundRefusedError(`${hostname} resolves to ${refused.address}, ${refused.why}, which the control plane does not call`),
            '',
            0,
          );
          return;
        }
        const usable = options.family ? found.filter((a) => a.family === options.family) : found;
        if (usable.length === 0) {
          callback(Object.assign(new Error(`${hostname} has no usable address`), { code: 'ENOTFOUND' }), '', 0);
        } else if (options.all) {
          (callback as unknown as (e: null, a: typeof usable) => void)(null, usable);
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

const shared = new Map<string, Agent>();

function agentFor(policy: OutboundPolicy, resolveAll: ResolveAll | undefined): Agent {
  const make = () => new Agent({ connect: { lookup: checkedLookup(policy, resolveAll ?? systemResolve) } });
  if (resolveAll) return make(); // tests' resolvers get their own connection pool
  const key = `${policy.allowHttp}:${policy.allowLoopback}`;
  const agent = shared.get(key) ?? make();
  shared.set(key, agent);
  return agent;
}

/** A FetchLike that only reaches what `policy` allows and never follows a redirect. */
export function outboundFetch(policy: OutboundPolicy, opts: { resolveAll?: ResolveAll } = {}): FetchLike {
  const dispatcher = agentFor(policy, opts.resolveAll);
  return async (url, init) => {
    const target = new URL(url);
    const why = urlRefusal(target, policy);
    if (why) throw new OutboundRefusedError(`${target.origin} ${why}`);
    // An IP literal never goes through `lookup`: urlRefusal has judged it just now.
    const res = await undiciFetch(url, { ...(init as object), redirect: 'manual', dispatcher });
    // undici's Response is the same class global fetch returns on Node 20; only the types differ.
    return res as unknown as Response;
  };
}
