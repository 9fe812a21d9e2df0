import { createClerkClient } from '@clerk/backend';
import type { Principal } from './principal.ts';

/**
 * Verifies Clerk session tokens with the real SDK, networklessly (`jwtKey`), and caches the result.
 *
 * Why a cache: `authenticateRequest` costs ≈ 1 ms of CPU per call here, twenty times a whole bare
 * HTTP request, and a dashboard sends the same session token many times. Only successes are cached,
 * keyed by everything the result depends on (the token, plus `__client_uat` on the cookie path),
 * and only until the token's `exp`.
 */

export interface ClerkSettings {
  jwtKey: string;
  publishableKey: string;
  secretKey: string | undefined;
  authorizedParties: string[] | undefined;
}

/** `expiresAtMs`: the token's `exp`; what was opened with it (an event stream) must end then. */
export type AuthResult = { ok: true; principal: Principal; expiresAtMs: number } | { ok: false; reason: string };

// The SDK insists on a secret key even though, with jwtKey, it never uses one for session tokens.
const PLACEHOLDER_SECRET = 'sk_live_networkless_placeholder_never_used';
const CACHE_LIMIT = 10_000;

export class ClerkVerifier {
  private readonly client;
  /**
   * Verified sessions by the exact credential that carried them: an Authorization header value, or
   * a Cookie header, each in its own cache (a header can never be looked up as a cookie).
   * GET /api/fleet's fast path looks a header up per request, and hashing a 1 kB token for a map
   * was a few per cent of its CPU: headers are filed under their last characters (a JWT ends in its
   * signature) and a hit is compared whole, so only the exact credential ever finds its session.
   */
  private readonly byHeader = new CredentialCache((credential) => credential.slice(-HEADER_KEY_CHARS));
  private readonly byCookie = new CredentialCache((credential) => credential);
  /** The origins whose tokens are accepted (`azp`); empty when any is. */
  readonly authorizedParties: readonly string[];

  constructor(private readonly settings: ClerkSettings) {
    this.authorizedParties = settings.authorizedParties ?? [];
    this.client = createClerkClient({
      secretKey: settings.secretKey ?? PLACEHOLDER_SECRET,
      publishableKey: settings.publishableKey,
      jwtKey: settings.jwtKey,
      telemetry: { disabled: true },
    });
  }

  /** Establishes the caller of `request`; never calls Clerk's servers for a Bearer token. */
  async authenticate(request: Request): Promise<AuthResult> {
    const key = cacheKey(request);
    if (key === undefined) return { ok: false, reason: 'missing-credentials' };
    const cache = key.kind === 'header' ? this.byHeader : this.byCookie;
    const hit = cache.get(key.value);
    if (hit) return { ok: true, principal: hit.principal, expiresAtMs: hit.expiresAtMs };

    const state = await this.client.authenticateRequest(request, {
      jwtKey: this.settings.jwtKey,
      authorizedParties: this.settings.authorizedParties,
      acceptsToken: 'session_token',
    });
    if (!state.isAuthenticated) return { ok: false, reason: shortReason(state.reason) };
    const auth = state.toAuth();
    if (!auth?.userId) {
      // The SDK treats a pending session (`sts: "pending"`) as signed out; say so.
      const raw = state.toAuth({ treatPendingAsSignedOut: false }) as { sessionStatus?: string } | null;
      return { ok: false, reason: raw?.sessionStatus === 'pending' ? 'session-pending' : 'session-invalid' };
    }
    const principal = principalOf(auth);
    if (!principal) return { ok: false, reason: 'token-claims-invalid' };
    const exp = typeof auth.sessionClaims?.exp === 'number' ? auth.sessionClaims.exp * 1000 : 0;
    if (exp > Date.now()) cache.set(key.value, { principal, expiresAtMs: exp });
    // Accepted within the SDK's clock skew but already past exp: whatever it opens ends at once.
    return { ok: true, principal, expiresAtMs: exp };
  }

  /**
   * The session of an `Authorization` header this verifier accepted before, while its token has
   * not expired; undefined otherwise (then only authenticate() can say). No SDK call, no await:
   * for GET /api/fleet's fast path (api/fleet-fast-path.ts).
   */
  cachedSession(authorization: string): { principal: Principal; expiresAtMs: number } | undefined {
    return this.byHeader.get(authorization);
  }
}

/** Enough of a JWT's end (its RS256 signature) that two tokens practically never share it. */
const HEADER_KEY_CHARS = 48;

interface CachedSession {
  principal: Principal;
  expiresAtMs: number;
}

/**
 * Sessions by credential, at most CACHE_LIMIT (the oldest dropped first), each until its token's
 * expiry. `keyOf` files a credential under a shorter key; an entry answers only its own credential,
 * so two credentials with one key only take each other's place.
 */
class CredentialCache {
  private readonly entries = new Map<string, { credential: string; session: CachedSession }>();

  constructor(private readonly keyOf: (credential: string) => string) {}

  get(credential: string): CachedSession | undefined {
    const key = this.keyOf(credential);
    const entry = this.entries.get(key);
    if (!entry || entry.credential !== credential) return undefined;
    if (entry.session.expiresAtMs > Date.now()) return entry.session;
    this.entries.delete(key);
    return undefined;
  }

  set(credential: string, session: CachedSession): void {
    const key = this.keyOf(credential);
    // Map keeps insertion order: re-inserting moves it to the end, and the oldest is dropped first.
    this.entries.delete(key);
    if (this.entries.size >= CACHE_LIMIT) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { credential, session });
  }
}

// Clerk's ids are a prefix and base62 (`user_2abc…`); our dev issuer's are readable words with
// underscores. Either way an identifier, never text: these become keys and columns in PostgreSQL.
const CLERK_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ORG_ROLE = /^org:[A-Za-z0-9_-]{1,64}$/;
// Control and format characters (NUL, a right-to-left override) in a slug only ever mean harm.
const PRINTABLE = /^[^\p{C}]{1,256}$/u;

type SessionAuth = { userId: string; sessionId?: string | null; orgId?: string | null; orgRole?: string | null; orgSlug?: string | null };

/**
 * The caller named by a verified token, or undefined when its ids are not identifiers: a token is
 * signed, but what it says still comes from outside (a NUL in `sub` was a 500 in the database).
 * A role or a slug that is not sane is dropped (no role: no admin rights) rather than refused.
 */
function principalOf(auth: SessionAuth): Principal | undefined {
  const ids = [auth.userId, auth.sessionId, auth.orgId].filter((v): v is string => v !== null && v !== undefined);
  if (ids.some((id) => !CLERK_ID.test(id))) return undefined;
  return {
    userId: auth.userId,
    sessionId: auth.sessionId ?? null,
    orgId: auth.orgId ?? null,
    orgRole: auth.orgRole && ORG_ROLE.test(auth.orgRole) ? auth.orgRole : null,
    orgSlug: auth.orgSlug && PRINTABLE.test(auth.orgSlug) ? auth.orgSlug : null,
  };
}

function cacheKey(request: Request): { kind: 'header' | 'cookie'; value: string } | undefined {
  const header = request.headers.get('authorization');
  if (header) return { kind: 'header', value: header };
  const cookie = request.headers.get('cookie');
  if (cookie && /(?:^|;\s*)__session=/.test(cookie)) return { kind: 'cookie', value: cookie };
  return undefined;
}

/** A short, stable reason code: enough to debug, nothing about which key or claim was checked. */
function shortReason(reason: string | null | undefined): string {
  if (!reason) return 'unauthenticated';
  const r = reason.toLowerCase();
  if (r.includes('expired')) return 'token-expired';
  if (r.includes('not-active') || r.includes('nbf') || r.includes('not active')) return 'token-not-active-yet';
  if (r.includes('azp') || r.includes('authorized-part')) return 'token-invalid-authorized-party';
  if (r.includes('pending')) return 'session-pending';
  if (r.includes('client-uat') || r.includes('handshake') || r.includes('dev-browser')) return 'session-cookie-incomplete';
  return 'token-invalid';
}
