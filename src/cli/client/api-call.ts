import createClient, { type Client } from 'openapi-fetch';
import type { paths } from '../../api/openapi-types.ts';
import { CliError, EXIT } from './cli-error.ts';

/**
 * The API as the CLI calls it: openapi-fetch typed by the types generated from the server's own
 * OpenAPI document (src/api/openapi-types.ts), so a changed route breaks the CLI's typecheck, and
 * one place that turns the server's error envelope into what a person reads.
 */
export type FleetApi = Client<paths>;

export function fleetApi(baseUrl: string, headers: Record<string, string>): FleetApi {
  return createClient<paths>({ baseUrl, headers: { 'user-agent': 'agent-fleet-cli', ...headers } });
}

/** What to do next after the server refused, by status; a command may say it better for its case. */
const DEFAULT_HINTS: Record<number, string> = {
  400: 'Fix that value and try again; `--help` on the command lists its options.',
  401: 'Sign in again: `fleet login` (dev sign-in: `fleet login --dev --user user_…`).',
  403: 'Your role does not allow this: in an organisation only its admins change the fleet; ask one.',
  404: 'Check the name or id.',
  409: 'See where the fleet stands with `fleet status`.',
  413: "The request is over a limit of the tenant's plan or of the server; the message says which.",
  429: 'Wait and try again.',
};

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The response's data; a CliError with the server's message and a hint when it answered with an error. */
export async function call<T>(baseUrl: string, request: Promise<FetchResult<T>>, hints: Record<number, string> = {}): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch (e) {
    // A 200 whose body is not JSON: something else answers at that address (a proxy's page, another app).
    if (e instanceof SyntaxError)
      throw new CliError(
        `${baseUrl} answered, but not as the Agent Fleet API (its body is not JSON).`,
        'Check the URL: `fleet login --url <base>`.',
      );
    throw unreachable(baseUrl, e);
  }
  const { data, error, response } = result;
  if (response.ok && data !== undefined) return data;
  throw refused(response, error, hints);
}

/** The CliError for a request that never got an answer. */
export function unreachable(baseUrl: string, e: unknown): CliError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (e as Error).message;
  return new CliError(
    `Cannot reach the Agent Fleet API at ${baseUrl} (${why}).`,
    'Is `fleet serve` running there? Point the CLI at the right server with `fleet login --url <base>` or FLEET_URL.',
    EXIT.unreachable,
  );
}

/** The CliError for an error answer: the envelope's message when there is one, the status otherwise. */
export function refused(response: Response, body: unknown, hints: Record<number, string> = {}): CliError {
  const envelope = (body as { error?: { message?: unknown; requestId?: unknown; details?: { field?: unknown } } } | undefined)?.error;
  const message =
    typeof envelope?.message === 'string'
      ? envelope.message
      : `The server answered ${[response.status, response.statusText].filter(Boolean).join(' ')} without an error message.`;
  const retryAfter = response.headers.get('retry-after');
  let hint = hints[response.status] ?? DEFAULT_HINTS[response.status];
  if (response.status === 429 && retryAfter) hint = `Wait ${retryAfter} s and try again.`;
  if (response.status >= 500 && typeof envelope?.requestId === 'string') hint = `Quote request id ${envelope.requestId} when reporting it.`;
  const field = typeof envelope?.details?.field === 'string' ? envelope.details.field : undefined;
  return new CliError(message, hint, response.status === 401 ? EXIT.signIn : EXIT.failed, field);
}
