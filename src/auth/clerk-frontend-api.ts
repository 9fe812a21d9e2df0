/**
 * The Frontend API origin a Clerk publishable key names: `pk_live_`/`pk_test_` + base64 of
 * "<host>$". Clerk's browser SDK loads its code from there and talks to it, so the dashboard's CSP
 * must allow exactly that origin in Clerk mode. Null for a key that does not decode to a host.
 */
export function clerkFrontendApiOrigin(publishableKey: string): string | null {
  const m = /^pk_(?:live|test)_([A-Za-z0-9+/=_-]+)$/.exec(publishableKey);
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  if (!decoded.endsWith('$')) return null;
  const host = decoded.slice(0, -1);
  // A hostname and nothing else: this goes into a header, so no spaces, semicolons or paths.
  return /^[a-z0-9.-]+(:\d{1,5})?$/i.test(host) ? `https://${host}` : null;
}
