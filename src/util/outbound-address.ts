import ipaddr from 'ipaddr.js';

/**
 * Which addresses and URLs the control plane may call on a tenant's behalf. A tenant names the
 * URL (Mission Control); without these rules it could make the control plane read cloud metadata
 * (169.254.169.254), scan loopback ports or reach internal services. One rule for the input check
 * (an IP literal or `localhost` is a 400) and the connection (every resolved address is checked,
 * and the connection goes to a checked one): see connectivity/outbound-fetch.ts.
 */
export interface OutboundPolicy {
  /** `http:` URLs too; outside production only. */
  allowHttp: boolean;
  /** Loopback addresses (127.0.0.0/8, ::1) too: tests' stand-in servers only (FLEET_TEST_ALLOW_LOOPBACK_URLS). */
  allowLoopback: boolean;
}

/** Production: https to public addresses only. */
export const STRICT_OUTBOUND: OutboundPolicy = { allowHttp: false, allowLoopback: false };

// ipaddr.js range names, worded for messages. Anything but `unicast` is refused: the ranges named
// here reach this host or its networks; the others (reserved, 6to4, NAT64, Teredo, …) are either
// not routed on the internet or embed an IPv4 address that could be a private one.
const RANGE_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address (RFC 1918)',
  uniqueLocal: 'a private address (fc00::/7)',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
};

// Cloud metadata services, named so the message says what the address is.
const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254']);

/** Why the control plane may not connect to `address` (an IP address), or undefined when it may. */
export function addressRefusal(address: string, policy: OutboundPolicy): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return 'not an IP address';
  }
  // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address inside.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (METADATA.has(parsed.toNormalizedString()) || METADATA.has(parsed.toString())) return 'a cloud metadata address';
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  if (range === 'loopback' && policy.allowLoopback) return undefined;
  return RANGE_WORDS[range] ?? `a reserved address (${range})`;
}

/** The host of a URL without the brackets of an IPv6 literal. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Why `url` may not be called at all, judged without a DNS lookup (scheme, credentials, an IP
 * literal or `localhost`), or undefined. The connection check still follows for names.
 */
export function urlRefusal(url: URL, policy: OutboundPolicy): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'must start with https:// or http://' : 'must start with https://';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  const host = bareHost(url).toLowerCase().replace(/\.$/, '');
  if (ipaddr.isValid(host)) {
    const why = addressRefusal(host, policy);
    return why ? `points at ${why}, which the control plane does not call` : undefined;
  }
  if ((host === 'localhost' || host.endsWith('.localhost')) && !policy.allowLoopback) {
    return 'points at localhost, which the control plane does not call';
  }
  return undefined;
}
