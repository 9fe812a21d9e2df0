import { loadClientConfig } from '../../config.ts';
import { fleetApi, type FleetApi } from './api-call.ts';
import { CliError, EXIT, usageError } from './cli-error.ts';
import { readStoredLogin } from './stored-login.ts';

/**
 * Which server and which credentials a client command uses. The base URL: `--url`, else
 * FLEET_URL, else the one `fleet login` stored, else http://localhost:3000. The session token:
 * FLEET_TOKEN, else the stored one. The platform token: `--platform-token`, else
 * FLEET_PLATFORM_TOKEN, else one stored with `fleet login --platform-token`.
 */
export const DEFAULT_URL = 'http://localhost:3000';

export interface Connection {
  url: string;
  api: FleetApi;
}

/** A base URL without trailing slashes (paths are appended to it), checked to be http(s). */
export function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`'${raw}' is not a URL.`, 'Give the server as a base URL, e.g. --url http://localhost:3000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`'${raw}' is not an http:// or https:// URL.`, 'Give the server as a base URL, e.g. --url http://localhost:3000');
  }
  return url.toString().replace(/\/+$/, '');
}

/** A client signed in as the user of `fleet login` (or FLEET_TOKEN). */
export function sessionConnection(opts: { url?: string }): Connection {
  const env = loadClientConfig();
  const stored = readStoredLogin(env.configFile);
  const url = normaliseBaseUrl(opts.url ?? env.url ?? stored?.url ?? DEFAULT_URL);
  const token = env.token ?? stored?.token;
  if (!token) {
    throw new CliError(
      `Not signed in (no token in FLEET_TOKEN or ${env.configFile}).`,
      'Run `fleet login --url <base> --token <session token>`, or in dev `fleet login --dev --user user_alice`.',
      EXIT.signIn,
    );
  }
  return { url, api: fleetApi(url, { authorization: `Bearer ${token}` }) };
}

/** A client that calls the platform routes with the operator's platform token. */
export function platformConnection(opts: { url?: string; platformToken?: string }): Connection {
  const env = loadClientConfig();
  const stored = readStoredLogin(env.configFile);
  const url = normaliseBaseUrl(opts.url ?? env.url ?? stored?.url ?? DEFAULT_URL);
  const token = opts.platformToken ?? env.platformToken ?? stored?.platformToken;
  if (!token) {
    throw new CliError(
      'Operator commands need the platform token.',
      'Pass --platform-token <token>, set FLEET_PLATFORM_TOKEN, or store it with `fleet login --platform-token <token>`. ' +
        'In dev, `fleet serve` prints it and keeps it in <data dir>/platform-token.',
      EXIT.signIn,
    );
  }
  return { url, api: fleetApi(url, { 'x-platform-token': token }) };
}
