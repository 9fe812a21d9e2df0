import { type Command, InvalidArgumentError, Option } from 'commander';
import { ensureDevKeys, mintSessionToken } from '../auth/dev-issuer.ts';
import { usageError } from './client/cli-error.ts';
import { loadCliConfig, parsePositiveInt } from './common.ts';

/**
 * Dev sign-in from the command line: a Clerk-shaped session token signed with the data dir's dev
 * key, as `fleet dev token` prints it and `fleet login --dev` stores it. One set of checks for both.
 */

/** Dev tokens live a day at most: one that leaks from a terminal's history must not stay valid. */
const MAX_TTL_SECONDS = 86_400;

const parseTtl = (v: string): number => {
  const n = parsePositiveInt(v);
  if (n > MAX_TTL_SECONDS) throw new InvalidArgumentError(`must be at most ${MAX_TTL_SECONDS} seconds (a day)`);
  return n;
};

export interface DevSessionOptions {
  user?: string;
  org?: string;
  role: string;
  ttl: number;
}

/** Adds --user, --org, --role and --ttl to `cmd`. */
export function addDevSessionOptions(cmd: Command, userRequired: boolean): Command {
  const user = new Option('--user <userId>', 'Clerk user id, e.g. user_alice');
  if (userRequired) user.makeOptionMandatory();
  return (
    cmd
      .addOption(user)
      .option('--org <orgId>', 'active organisation, e.g. org_acme (omit for a personal session)')
      // The roles Clerk gives by default; anything else would mint a token no route understands.
      .addOption(new Option('--role <role>', 'organisation role').choices(['admin', 'member']).default('admin'))
      .option('--ttl <seconds>', `lifetime in seconds (at most ${MAX_TTL_SECONDS}: a day)`, parseTtl, 3600)
  );
}

/** A dev session token for `opts`; a usage error when the ids are not Clerk ids or Clerk is configured. */
export function mintDevSession(opts: DevSessionOptions): string {
  const config = loadCliConfig();
  if (config.clerk) {
    throw usageError('Clerk settings are configured: sign in through Clerk instead; dev tokens would be rejected.');
  }
  if (opts.user === undefined) throw usageError('--user is required for a dev session, e.g. --user user_alice');
  if (!/^user_[A-Za-z0-9]+$/.test(opts.user)) throw usageError(`--user must look like a Clerk user id (user_…), got '${opts.user}'`);
  if (opts.org !== undefined && !/^org_[A-Za-z0-9]+$/.test(opts.org)) {
    throw usageError(`--org must look like a Clerk organisation id (org_…), got '${opts.org}'`);
  }
  const keys = ensureDevKeys(config.dataDir);
  return mintSessionToken(keys.privateKeyPem, { userId: opts.user, orgId: opts.org, orgRole: opts.role, ttlSeconds: opts.ttl });
}
