import { tokenMatches } from './token-match.ts';

/** Checks the `X-Platform-Token` header in constant time. */
export function platformTokenMatches(expected: string, given: string | undefined | null): boolean {
  return tokenMatches(expected, given);
}
