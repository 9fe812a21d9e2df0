import fs from 'node:fs/promises';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Next } from 'hono';
import { clerkFrontendApiOrigin } from '../auth/clerk-frontend-api.ts';
import type { AppEnv } from './context.ts';
import { ApiError } from './errors.ts';

/**
 * The dashboard's CSP: everything from this origin only. The build has no inline script or style
 * (Vite emits files), and the dev bundle must load nothing from elsewhere, so 'self' is enough.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// Clerk's bot check on sign-in runs in a Cloudflare Turnstile frame.
const TURNSTILE = 'https://challenges.cloudflare.com';

/**
 * The CSP in Clerk mode: Clerk's browser SDK comes from the key's Frontend API and talks to it,
 * shows avatars from img.clerk.com, and styles its components with inline styles.
 */
export function clerkDashboardCsp(frontendApi: string): string {
  return (
    `default-src 'self'; script-src 'self' ${frontendApi} ${TURNSTILE}; style-src 'self' 'unsafe-inline'; ` +
    `img-src 'self' data: https://img.clerk.com; font-src 'self'; connect-src 'self' ${frontendApi}; ` +
    `frame-src ${TURNSTILE}; worker-src 'self' blob:; ` +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
  );
}

// Paths the API owns: an unknown one is the API's 404, never the dashboard's page.
const API_PREFIXES = ['/api/', '/api', '/healthz', '/readyz', '/metrics'];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT =
  'The dashboard is not built yet. Run `npm run build:web` (or `npm start`, which builds it when missing), then reload. ' +
  'The API itself is up: see /api/reference.';

/**
 * Serves the built dashboard from `webDir` at `/`: its files as they are, and `index.html` for
 * every other GET outside the API's paths, so the single-page app's own routes survive a reload.
 * Registered after every API route, so it only sees what they did not answer.
 */
export function registerWebDashboard(app: OpenAPIHono<AppEnv>, webDir: string, clerkPublishableKey?: string): void {
  const root = path.resolve(webDir);
  const frontendApi = clerkPublishableKey ? clerkFrontendApiOrigin(clerkPublishableKey) : null;
  const csp = frontendApi ? clerkDashboardCsp(frontendApi) : DASHBOARD_CSP;
  const handler = async (c: Context<AppEnv>, next: Next) => {
    const pathname = c.req.path;
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return next();
    if (API_PREFIXES.some((p) => pathname === p || (p.endsWith('/') && pathname.startsWith(p)))) return next();
    const file = await findFile(root, pathname);
    if (file === 'missing') return next(); // a file the build does not have: the API's 404
    // Not a server failure (the API is up, nothing is missing that a retry would bring): a 404 in
    // the error envelope that says how to build it.
    if (!file) throw new ApiError('not_found', NOT_BUILT, { reason: 'dashboard-not-built' });
    c.header('Content-Security-Policy', csp);
    c.header('Content-Type', CONTENT_TYPES[path.extname(file.path)] ?? 'application/octet-stream');
    // Vite names assets by content hash: they never change. The page itself must be revalidated.
    c.header('Cache-Control', file.hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (c.req.method === 'HEAD') return c.body(null, 200);
    return c.body(new Uint8Array(file.body), 200);
  };
  // A middleware, not a GET route: a route matching every path would become every request's
  // route label in the metrics, and the method list of every 405.
  app.use('/*', handler);
}

/**
 * The file for `pathname` under `root`; for a path without an extension `index.html` (the SPA
 * fallback); 'missing' for a file name the build lacks; undefined when nothing is built.
 */
async function findFile(root: string, pathname: string): Promise<{ path: string; body: Buffer; hashed: boolean } | 'missing' | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    decoded = '/';
  }
  const candidate = path.resolve(root, `.${path.posix.normalize(decoded)}`);
  // Never outside the build directory, whatever the path says.
  if (candidate.startsWith(root + path.sep) && path.extname(candidate) !== '') {
    const body = await readRegularFile(candidate);
    if (body) return { path: candidate, body, hashed: candidate.startsWith(path.join(root, 'assets') + path.sep) };
  }
  const index = path.join(root, 'index.html');
  const body = await readRegularFile(index);
  if (!body) return undefined;
  return path.extname(decoded) === '' ? { path: index, body, hashed: false } : 'missing';
}

async function readRegularFile(file: string): Promise<Buffer | undefined> {
  try {
    const stat = await fs.stat(file);
    return stat.isFile() ? await fs.readFile(file) : undefined;
  } catch {
    return undefined;
  }
}
