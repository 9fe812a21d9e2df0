import type { Session } from './session/session.ts';

/** An error answer of the API, carrying its own message (shown as is) and the field it names. */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiProblem';
  }
}

type ErrorEnvelope = { ok: false; error: { code: string; message: string; details?: { field?: string } } };

/** Calls the API with the session's token; an error answer becomes an ApiProblem with the API's message. */
export async function callApi<T>(session: Session | null, path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = session ? await session.getToken() : null;
  if (token) headers.set('authorization', `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, body });
  } catch {
    throw new ApiProblem('The API could not be reached. Check that the server is running, then try again.', 0, 'network');
  }
  const parsed = (await res.json().catch(() => undefined)) as (T & { ok?: boolean }) | ErrorEnvelope | undefined;
  if (res.ok && parsed) return parsed as T;
  if (parsed && 'error' in parsed && parsed.error?.message) {
    throw new ApiProblem(parsed.error.message, res.status, parsed.error.code, parsed.error.details?.field);
  }
  throw new ApiProblem(`The API answered ${res.status} ${res.statusText} without an explanation.`, res.status, 'unknown');
}
