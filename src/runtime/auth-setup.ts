import { ClerkVerifier } from '../auth/clerk.ts';
import { DEV_PUBLISHABLE_KEY, ensureDevKeys } from '../auth/dev-issuer.ts';
import type { Config } from '../config.ts';
import { ensureDataDirSecret, makePlatformToken } from './dev-secrets.ts';

/** The session verifier and platform token: real Clerk settings, or dev sign-in from the data dir. */
export function setUpAuth(config: Config): { verifier: ClerkVerifier; platformToken: string; devSignIn: boolean } {
  const platformToken = config.platformToken ?? ensureDataDirSecret(config.dataDir, 'platform-token', makePlatformToken);
  if (config.clerk) return { verifier: new ClerkVerifier(config.clerk), platformToken, devSignIn: false };
  // config.ts guarantees we never get here in production.
  const keys = ensureDevKeys(config.dataDir);
  const verifier = new ClerkVerifier({
    jwtKey: keys.publicKeyPem,
    publishableKey: DEV_PUBLISHABLE_KEY,
    secretKey: undefined,
    authorizedParties: undefined,
  });
  return { verifier, platformToken, devSignIn: true };
}
