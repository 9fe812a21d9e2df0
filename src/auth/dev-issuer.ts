import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Dev sign-in: an RSA-2048 key pair kept in the data dir, used as Clerk's `jwtKey`, and a minter of
 * Clerk-shaped (v2) session tokens. The same ClerkVerifier checks them, so there is one auth path.
 * Never used when Clerk settings are present or in production (see config.ts).
 */

export const DEV_ISSUER = 'https://clerk.agent-fleet.localhost';
// pk_live_ + base64("<frontend api host>$"): a live key keeps the SDK off its dev-browser handshake.
export const DEV_PUBLISHABLE_KEY = `pk_live_${Buffer.from('clerk.agent-fleet.localhost$').toString('base64')}`;

export interface DevKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Loads the data dir's dev key pair, creating it (mode 600) on first use. */
export function ensureDevKeys(dataDir: string): DevKeys {
  const dir = path.join(dataDir, 'dev-auth');
  const privFile = path.join(dir, 'jwt-private.pem');
  if (!fs.existsSync(privFile)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const tmp = `${privFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    try {
      // Link, not rename: if another process made the key meanwhile, keep theirs.
      fs.linkSync(tmp, privFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const privateKeyPem = fs.readFileSync(privFile, 'utf8');
  const publicKeyPem = createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem, publicKeyPem };
}

export interface MintOptions {
  userId: string;
  orgId?: string;
  /** Clerk org role without the `org:` prefix, as v2 tokens carry it (`admin`, `member`). */
  orgRole?: string;
  orgSlug?: string;
  ttlSeconds?: number;
  azp?: string;
  sessionId?: string;
  /** Extra or overriding claims, for tests of bad tokens. */
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
}

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs a Clerk v2 session token (RS256) for `opts.userId`. */
export function mintSessionToken(privateKeyPem: string, opts: MintOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    azp: opts.azp ?? 'http://localhost:3000',
    exp: now + (opts.ttlSeconds ?? 3600),
    iat: now,
    nbf: now - 5,
    iss: DEV_ISSUER,
    sid: opts.sessionId ?? `sess_${randomBytes(12).toString('hex')}`,
    sub: opts.userId,
    sts: 'active',
    v: 2,
    ...(opts.orgId ? { o: { id: opts.orgId, rol: opts.orgRole ?? 'member', slg: opts.orgSlug ?? opts.orgId.replace(/^org_/, '') } } : {}),
    ...opts.claims,
  };
  const header = { alg: 'RS256', typ: 'JWT', kid: 'ins_dev', ...opts.header };
  const signingInput = `${b64url(header)}.${b64url(payload)}`;
  const signature = sign('RSA-SHA256', Buffer.from(signingInput), privateKeyPem).toString('base64url');
  return `${signingInput}.${signature}`;
}
