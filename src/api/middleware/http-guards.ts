import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/**
 * What every request passes before a route sees it: a body size limit (413), JSON only for bodies
 * (415; a `text/plain` form post from another site must not be read as an empty request), no NUL
 * byte anywhere in the path, query or JSON body (PostgreSQL refuses NUL in text: without this it
 * was a 500), and security headers on every answer.
 */
export function bodyGuards(maxBodyBytes: number): MiddlewareHandler<AppEnv>[] {
  return [
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ApiError('payload_too_large', `The request body is larger than ${maxBodyBytes} bytes. Send a smaller body.`);
      },
    }),
    async (c, next) => {
      if (hasNul(safeDecode(c.req.url))) throw new ApiError('invalid_input', 'The path or query contains a NUL byte.', { field: '(url)' });
      if (hasBody(c.req.raw)) {
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
export const securityHeaders = (): MiddlewareHandler<AppEnv> =>
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"], baseUri: ["'none'"] },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    crossOriginResourcePolicy: 'same-origin',
  });

function hasBody(req: Request): boolean {
  const length = req.headers.get('content-length');
  return (length !== null && length !== '0') || req.headers.has('transfer-encoding');
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a malformed escape is the router's business, not a NUL
  }
};

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
