import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks the `X-Platform-Token` header in constant time. Both sides are hashed first so the
 * comparison neither leaks the token's length nor throws on a length mismatch.
 */
export function platformTokenMatches(expected: string, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
