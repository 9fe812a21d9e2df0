import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/**
 * What every request passes before a route sees it: a body size limit (413), JSON only for bodies
 * (415; a `text/plain` form post from another site must not be read as an empty request), no NUL
 * byte anywhere in the path, query or JSON body (PostgreSQL refuses NUL in text: without this it
 * was a 500), and security headers on every answer.
 */
export function bodyGuards(maxBodyBytes: number): MiddlewareHandler<AppEnv>[] {
  const limit = bodyLimit({
    maxSize: maxBodyBytes,
    onError: () => {
      throw new ApiError('payload_too_large', `The request body is larger than ${maxBodyBytes} bytes. Send a smaller body.`);
    },
  });
  return [
    // Only requests that may carry a body go through the limit: it reads `c.req.raw.body`, which
    // makes the node adapter build a whole Request, and GET /api/fleet is the hot path.
    (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limit(c, next)),
    async (c, next) => {
      // A NUL can only arrive percent-encoded (the HTTP parser refuses a raw one).
      if (/%00/.test(c.req.url)) throw new ApiError('invalid_input', 'The path or query contains a NUL byte.', { field: '(url)' });
      if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && hasBody(c.req.raw)) {
        const type = c.req.header('content-type') ?? '';
        if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
          throw new ApiError(
            'unsupported_media_type',
            `Send the body as JSON with "Content-Type: application/json" (got "${type || 'none'}").`,
          );
        }
        let body: unknown;
        try {
          body = await c.req.json(); // cached: the route's validator reads the same parse
          readToTheEnd.add(c.req.raw);
        } catch {
          throw new ApiError('invalid_input', 'The body is not valid JSON.', { field: '(body)' });
        }
        const at = nulPath(body);
        if (at !== undefined)
          throw new ApiError('invalid_input', `${at || '(body)'}: must not contain a NUL byte`, { field: at || '(body)' });
      }
      await next();
    },
  ];
}

// Requests whose body the guards read whole (JSON parsed): their connection can serve another request.
const readToTheEnd = new WeakSet<Request>();

/**
 * An error answered to a request whose body was not read to its end (refused as too large, of the
 * wrong type, forged, or before it was looked at) says `Connection: close`. Otherwise Node either
 * drains a body of any size for nothing, or — after the size limit stopped reading — drops the
 * connection just as the client sends its next request on it ("other side closed", seen in the soak).
 */
export const closeAfterUnreadBodies = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  await next();
  if (c.res.status >= 400 && hasBody(c.req.raw) && !readToTheEnd.has(c.req.raw)) c.res.headers.set('Connection', 'close');
};

/** nosniff, no framing, no referrer; a CSP that allows nothing but what the reference page inlines. */
export const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ['Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];

/** Constant headers set up front (cheaper than building them per answer: GET /api/fleet is the hot path). */
export const securityHeaders = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  for (const [name, value] of SECURITY_HEADERS) c.header(name, value);
  await next();
};

function hasBody(req: Request): boolean {
  const length = req.headers.get('content-length');
  return (length !== null && length !== '0') || req.headers.has('transfer-encoding');
}

const hasNul = (s: string): boolean => s.includes('\0');

const SHOWN_PATH_CHARS = 120;

/** A place in the body: its key and the place it is in (the path is spelled out only when reported). */
interface Place {
  key: string;
  parent: Place | undefined;
}

/**
 * The JSON path (`a.b.0`) of the first string or key holding a NUL byte, or undefined. A walk with
 * its own stack: a body nested 200,000 levels deep (400 KB) overflowed the call stack of a
 * recursive one. A path that long is shortened to its start.
 */
function nulPath(root: unknown): string | undefined {
  const stack: Array<[unknown, Place | undefined]> = [[root, undefined]];
  while (stack.length > 0) {
    const [value, place] = stack.pop()!;
    if (typeof value === 'string') {
      if (hasNul(value)) return spelled(place);
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], { key: String(i), parent: place }]);
    } else if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, v] = entries[i]!;
        if (hasNul(key)) return spelled({ key, parent: place });
        stack.push([v, { key, parent: place }]);
      }
    }
  }
  return undefined;
}

function spelled(place: Place | undefined): string {
  const keys: string[] = [];
  for (let p = place; p; p = p.parent) keys.push(p.key);
  const at = keys.reverse().join('.');
  return at.length > SHOWN_PATH_CHARS ? `${at.slice(0, SHOWN_PATH_CHARS)}…` : at;
}
