import { type Command, InvalidArgumentError, Option } from 'commander';
import { ensureDevKeys, mintSessionToken } from '../auth/dev-issuer.ts';
import { loadCliConfig, parsePositiveInt } from './common.ts';

/** Dev tokens live a day at most: one that leaks from a terminal's history must not stay valid. */
const MAX_TTL_SECONDS = 86_400;

const parseTtl = (v: string): number => {
  const n = parsePositiveInt(v);
  if (n > MAX_TTL_SECONDS) throw new InvalidArgumentError(`must be at most ${MAX_TTL_SECONDS} seconds (a day)`);
  return n;
};

export function registerDevToken(program: Command): void {
  const dev = program.command('dev').description('development helpers (dev sign-in only)');
  dev
    .command('token')
    .description("print a Clerk-shaped session token signed with the data dir's dev key")
    .requiredOption('--user <userId>', 'Clerk user id, e.g. user_alice')
    .option('--org <orgId>', 'active organisation, e.g. org_acme (omit for a personal session)')
    // The roles Clerk gives by default; anything else would mint a token no route understands.
    .addOption(new Option('--role <role>', 'organisation role').choices(['admin', 'member']).default('admin'))
    .option('--ttl <seconds>', `lifetime in seconds (at most ${MAX_TTL_SECONDS}: a day)`, parseTtl, 3600)
    .action((opts: { user: string; org?: string; role: string; ttl: number }) => {
      const config = loadCliConfig();
      if (config.clerk) {
        console.error('Clerk settings are configured: sign in through Clerk instead; dev tokens would be rejected.');
        process.exit(2);
      }
      if (!/^user_[A-Za-z0-9]+$/.test(opts.user)) {
        console.error(`--user must look like a Clerk user id (user_…), got '${opts.user}'`);
        process.exit(2);
      }
      if (opts.org !== undefined && !/^org_[A-Za-z0-9]+$/.test(opts.org)) {
        console.error(`--org must look like a Clerk organisation id (org_…), got '${opts.org}'`);
        process.exit(2);
      }
      const role = opts.role;
      const keys = ensureDevKeys(config.dataDir);
      console.log(mintSessionToken(keys.privateKeyPem, { userId: opts.user, orgId: opts.org, orgRole: role, ttlSeconds: opts.ttl }));
    });
}
