import type { DevSignIn } from '../api/context.ts';
import { ClerkVerifier } from '../auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys, mintSessionToken } from '../auth/dev-issuer.ts';
import type { Config } from '../config.ts';
import { ensureDataDirSecret, makePlatformToken } from './dev-secrets.ts';

/** A dev session lasts an hour, like a `fleet dev token` by default; the dashboard asks again after it. */
const DEV_SESSION_TTL_SECONDS = 3600;

/**
 * The session verifier and platform token: real Clerk settings, or dev sign-in from the data dir
 * (then also the minter behind the dashboard's dev sign-in page).
 */
export function setUpAuth(config: Config): { verifier: ClerkVerifier; platformToken: string; devSignIn: DevSignIn | undefined } {
  const platformToken = config.platformToken ?? ensureDataDirSecret(config.dataDir, 'platform-token', makePlatformToken);
  if (config.clerk) return { verifier: new ClerkVerifier(config.clerk), platformToken, devSignIn: undefined };
  // config.ts guarantees we never get here in production.
  const keys = ensureDevKeys(config.dataDir);
  const verifier = new ClerkVerifier({
    jwtKey: keys.publicKeyPem,
    publishableKey: DEV_PUBLISHABLE_KEY,
    secretKey: undefined,
    authorizedParties: undefined,
  });
  return { verifier, platformToken, devSignIn: devSignInWith(keys.privateKeyPem) };
}

/** Dev sign-in's minter over the data dir's private key. */
export function devSignInWith(privateKeyPem: string): DevSignIn {
  return {
    mint: (who) => ({
      token: mintSessionToken(privateKeyPem, { ...who, ttlSeconds: DEV_SESSION_TTL_SECONDS }),
      expiresAtMs: Date.now() + DEV_SESSION_TTL_SECONDS * 1000,
    }),
  };
}
