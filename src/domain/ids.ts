import { randomBytes } from 'node:crypto';

/** Prefixed ids (`tnt_…`, `flt_…`, `run_…`) so logs and bug reports say what a value is. */
export type IdPrefix = 'tnt' | 'flt' | 'run';

const ALPHABET = '0123456789abcdefghijkmnopqrstuvwxyz';

export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(16);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${out}`;
}

export const TENANT_SLUG = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/**
 * Slugs of tenants created at sign-in start with this, and platform tenant ids may not: the
 * sign-in slug comes from a user-chosen organisation slug, and in one namespace with the
 * platform's ids a stranger could take a customer's id before the platform onboards it.
 */
export const AUTO_TENANT_PREFIX = 'auto_';
