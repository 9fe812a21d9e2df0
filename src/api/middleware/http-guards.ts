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
        } catch {
          throw new ApiError('invalid_input', 'The body is not valid JSON.', { field: '(body)' });
        }
        const at = nulPath(body, '');
        if (at !== undefined)
          throw new ApiError('invalid_input', `${at || '(body)'}: must not contain a NUL byte`, { field: at || '(body)' });
      }
      await next();
    },
  ];
}

/** nosniff, no framing, no referrer; a CSP that allows nothing but what the reference page inlines. */
const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
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

/** The JSON path (`a.b.0`) of the first string or key holding a NUL byte, or undefined. */
function nulPath(value: unknown, at: string): string | undefined {
  if (typeof value === 'string') return hasNul(value) ? at : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = nulPath(v, at ? `${at}.${i}` : String(i));
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const here = at ? `${at}.${k}` : k;
      if (hasNul(k)) return here;
      const found = nulPath(v, here);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
