import type { Command } from 'commander';
import { loadClientConfig } from '../config.ts';
import { call, fleetApi } from './client/api-call.ts';
import { usageError } from './client/cli-error.ts';
import { withExample } from './client/command-options.ts';
import { DEFAULT_URL, normaliseBaseUrl } from './client/connection.ts';
import { secretValue } from './client/secret-value.ts';
import { readStoredLogin, writeStoredLogin } from './client/stored-login.ts';
import { addDevSessionOptions, type DevSessionOptions, mintDevSession } from './dev-session.ts';

interface LoginOptions extends Partial<DevSessionOptions> {
  url?: string;
  token?: string;
  dev?: boolean;
  platformToken?: string;
}

export function registerLogin(program: Command): void {
  const cmd = program
    .command('login')
    .description('sign in to an Agent Fleet API: checks the token with the server, then stores the URL and token (mode 600)')
    .option('--url <base>', `API base URL (default: FLEET_URL, else the one stored by the last login, else ${DEFAULT_URL})`)
    .option('--token <token>', 'a Clerk session token, or @<file>, or - to read it from standard input (default: FLEET_TOKEN)')
    .option('--dev', "dev sign-in: mint a session token with the local data dir's dev key, as `fleet dev token` does")
    .option('--platform-token <token>', 'also store a platform token for `fleet tenants …` (or @<file>, or -)');
  addDevSessionOptions(cmd, false);
  withExample(
    cmd,
    'fleet login --dev --user user_alice --org org_acme --role admin',
    'fleet login --url https://fleet.example.com --token @session.jwt',
    'fleet login --platform-token @platform.token',
  );
  cmd.action(async (opts: LoginOptions, command: Command) => {
    const env = loadClientConfig();
    const previous = readStoredLogin(env.configFile);
    const url = normaliseBaseUrl(opts.url ?? env.url ?? previous?.url ?? DEFAULT_URL);
    const devFlags = ['user', 'org', 'role', 'ttl'].filter((f) => command.getOptionValueSource(f) === 'cli');
    if (!opts.dev && devFlags.length > 0) throw usageError(`--${devFlags[0]} is for dev sign-in: add --dev.`);
    if (opts.dev && opts.token) throw usageError('Give either --token or --dev, not both.');
    const platformToken = opts.platformToken === undefined ? undefined : secretValue(opts.platformToken, '--platform-token');
    let token: string | undefined;
    if (opts.dev) token = mintDevSession({ user: opts.user, org: opts.org, role: opts.role ?? 'admin', ttl: opts.ttl ?? 3600 });
    else if (opts.token !== undefined) token = secretValue(opts.token, '--token');
    else token = env.token;
    if (!token && !platformToken) {
      throw usageError(
        'No token to sign in with.',
        'Pass --token <session token> (or set FLEET_TOKEN); in dev, `fleet login --dev --user user_alice`.',
      );
    }

    // Checked with the server before anything is stored: a token it refuses is not kept.
    if (token) await call(url, fleetApi(url, { authorization: `Bearer ${token}` }).GET('/api/fleet'), { 401: tokenHint(opts.dev) });
    if (platformToken) {
      await call(url, fleetApi(url, { 'x-platform-token': platformToken }).GET('/api/tenants', { params: { query: { limit: 1 } } }), {
        401: 'Use the platform token of this server: FLEET_PLATFORM_TOKEN where it runs (in dev, `fleet serve` prints it).',
      });
    }
    // Signing in again on the same server keeps what this login does not replace.
    const kept = previous?.url === url ? previous : undefined;
    writeStoredLogin(env.configFile, {
      url,
      token: token ?? kept?.token,
      platformToken: platformToken ?? kept?.platformToken,
    });
    if (token) process.stdout.write(`Signed in to ${url} as ${describeSession(token)}.\n`);
    if (platformToken) process.stdout.write(`Platform token for ${url} accepted.\n`);
    process.stdout.write(`Saved to ${env.configFile}\n`);
  });
}

const tokenHint = (dev: boolean | undefined) =>
  dev
    ? "The server did not accept a token from this data dir's dev key: run `fleet login --dev` with the FLEET_DATA_DIR of that `fleet serve`."
    : 'Give a current session token of that server (Clerk session tokens are short-lived).';

/** Who a token speaks for and until when, read from its claims (display only: the server verified it). */
function describeSession(token: string): string {
  let claims: { sub?: string; exp?: number; o?: { id?: string; rol?: string }; org_id?: string; org_role?: string };
  try {
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
  } catch {
    return 'the token given';
  }
  const org = claims.o?.id ?? claims.org_id;
  const role = claims.o?.rol ?? claims.org_role?.replace(/^org:/, '');
  const who = `${claims.sub ?? 'unknown user'}${org ? ` (organisation ${org}${role ? `, ${role}` : ''})` : ' (personal)'}`;
  if (typeof claims.exp !== 'number') return who;
  const minutes = Math.round((claims.exp * 1000 - Date.now()) / 60_000);
  return `${who}; the token expires in ${minutes} min (${new Date(claims.exp * 1000).toISOString()}), then sign in again`;
}
