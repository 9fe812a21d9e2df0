import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { ServiceError } from '../services/errors.ts';
import type { AppDeps, AppEnv } from './context.ts';
import { ApiError, errorBody } from './errors.ts';
import { requireSameOriginForCookieSessions } from './middleware/csrf.ts';
import { bodyGuards, closeAfterUnreadBodies, securityHeaders } from './middleware/http-guards.ts';
import { requestContext } from './middleware/request-context.ts';
import { requirePlatformToken, requireSession } from './middleware/auth.ts';
import { platformRateLimit, userRateLimit, webhookRateLimit } from './middleware/rate-limit.ts';
import { withProtocolResponses } from './protocol-responses.ts';
import { renderReferencePage } from './reference-page.ts';
import { registerFleetEvents } from './routes/fleet-events.ts';
import { registerFleetGet } from './routes/fleet-get.ts';
import { registerFleetProvision } from './routes/fleet-provision.ts';
import { registerFleetRetry } from './routes/fleet-retry.ts';
import { registerHealth } from './routes/health.ts';
import { registerTemplatesList } from './routes/templates-list.ts';
import { registerTenantsCreate } from './routes/tenants-create.ts';
import { registerTenantsGet } from './routes/tenants-get.ts';
import { registerTenantsList } from './routes/tenants-list.ts';
import { registerTenantsProvision } from './routes/tenants-provision.ts';
import { registerFleetAudit } from './routes/fleet-audit.ts';
import { registerFleetCancel } from './routes/fleet-cancel.ts';
import { registerFleetDeprovision } from './routes/fleet-deprovision.ts';
import { registerFleetResume } from './routes/fleet-resume.ts';
import { registerFleetSuspend } from './routes/fleet-suspend.ts';
import { registerTenantsAudit } from './routes/tenants-audit.ts';
import { registerTenantsLifecycle } from './routes/tenants-lifecycle.ts';
import { registerDevSession } from './routes/dev-session.ts';
import { registerFleetControlUiToken } from './routes/fleet-control-ui-token.ts';
import { registerSignInOptions } from './routes/sign-in-options.ts';
import { registerFleetHealth } from './routes/fleet-health.ts';
import { registerTenantsHealth } from './routes/tenants-health.ts';
import { registerWebDashboard } from './web-dashboard.ts';
import { registerFleetReconfigure } from './routes/fleet-reconfigure.ts';
import { registerTenantsReconfigure } from './routes/tenants-reconfigure.ts';
import { registerClerkWebhook } from './routes/clerk-webhook.ts';
import { registerFleetReprovision } from './routes/fleet-reprovision.ts';
import { registerTenantsReprovision } from './routes/tenants-reprovision.ts';

// The tenant routes (a Clerk session). `/x/*` matches `/x` too: listing both ran their middleware twice on `/x`.
const SESSION_PATHS = ['/api/fleet/*', '/api/templates'];

/** The HTTP API: every route, its auth, the one error envelope and the OpenAPI document. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    // Validation failures go through the same envelope, naming the first bad field.
    defaultHook: (result) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
      const first = issues[0] ?? { field: '(request)', message: 'invalid' };
      throw new ApiError('invalid_input', `${first.field}: ${first.message}`, { field: first.field, issues });
    },
  });

  app.use('*', requestContext(deps));
  app.use('*', securityHeaders());
  app.use('*', closeAfterUnreadBodies());
  // Before the body guards: a forged request is refused as such (403), whatever its body.
  const sameOrigin = requireSameOriginForCookieSessions(deps.verifier.authorizedParties);
  for (const path of SESSION_PATHS) app.use(path, sameOrigin);
  app.use('*', ...bodyGuards(deps.config.http.maxBodyBytes));
  const session = [requireSession(deps), userRateLimit(deps.config.http.rateLimitPerMinute, deps.userRateStore)];
  const platform = [requirePlatformToken(deps), platformRateLimit(deps.config.http.platformRateLimitPerMinute)];
  for (const path of SESSION_PATHS) app.use(path, ...session);
  app.use('/api/tenants/*', ...platform);
  app.use('/api/webhooks/clerk', webhookRateLimit(deps.config.http.webhookRateLimitPerMinute));

  registerHealth(app, deps);
  registerFleetGet(app, deps);
  registerFleetProvision(app, deps);
  registerFleetRetry(app, deps);
  registerFleetEvents(app, deps);
  registerTemplatesList(app, deps);
  registerTenantsCreate(app, deps);
  registerTenantsList(app, deps);
  registerTenantsGet(app, deps);
  registerTenantsProvision(app, deps);
  registerFleetSuspend(app, deps);
  registerFleetResume(app, deps);
  registerFleetDeprovision(app, deps);
  registerFleetCancel(app, deps);
  registerFleetAudit(app, deps);
  registerTenantsLifecycle(app, deps);
  registerTenantsAudit(app, deps);
  registerFleetControlUiToken(app, deps);
  registerSignInOptions(app, deps);
  registerFleetReconfigure(app, deps);
  registerTenantsReconfigure(app, deps);
  registerClerkWebhook(app, deps);
  registerFleetReprovision(app, deps);
  registerTenantsReprovision(app, deps);
  registerFleetHealth(app, deps);
  registerTenantsHealth(app, deps);
  // Only with dev sign-in: with Clerk configured the path does not exist (404).
  if (deps.devSignIn) registerDevSession(app, deps.devSignIn);

  app.openAPIRegistry.registerComponent('securitySchemes', 'clerkBearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'Clerk session JWT',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'clerkCookie', { type: 'apiKey', in: 'cookie', name: '__session' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'platformToken', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Platform-Token',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'FLEET_METRICS_TOKEN, required on /metrics only when the server sets it',
  });
  const documentConfig = {
    openapi: '3.1.0',
    info: {
      title: 'Agent Fleet API',
      version: '0.1.0',
      description: 'Provision and watch OpenClaw agent fleets, one per Clerk organisation or user.',
    },
    // Relative: the API is wherever this document was fetched from (OpenAPI resolves it against that URL).
    servers: [{ url: '/', description: 'The server that serves this document' }],
  };
  // The document as the routes describe it, plus the answers the server gives before any route.
  // Built once, at the first request: every route is registered by then.
  let built: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  const document = () => (built ??= withProtocolResponses(structuredClone(app.getOpenAPI31Document(documentConfig))));
  app.get('/api/openapi.json', (c) => c.json(document()));
  app.get('/api/reference', (c) => c.html(renderReferencePage(document() as Parameters<typeof renderReferencePage>[0])));

  // Last: the dashboard answers only the GETs no API route took.
  // In Clerk mode the page's CSP must let Clerk's browser SDK in from the key's Frontend API.
  registerWebDashboard(app, deps.config.webDir, deps.devSignIn ? undefined : deps.clerkPublishableKey);

  app.notFound((c) => {
    const allowed = methodsFor(app, c.req.path);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      throw new ApiError('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allowed.join(', ')}.`);
    }
    throw new ApiError('not_found', `No route ${c.req.method} ${c.req.path}. See /api/reference.`);
  });

  app.onError((err, c) => {
    const requestId = c.get('requestId') ?? 'unknown';
    if (err instanceof ApiError) return c.json(errorBody(err, requestId), err.status);
    if (err instanceof ServiceError) {
      // The services' codes are a subset of the API's: mapped here, once, for every route.
      const apiErr = new ApiError(err.code, err.message, err.field ? { field: err.field } : undefined);
      if (err.retryAfterSeconds !== undefined) c.header('Retry-After', String(err.retryAfterSeconds));
      return c.json(errorBody(apiErr, requestId), apiErr.status);
    }
    if (err instanceof HTTPException && err.status < 500) {
      // Hono's own rejections (e.g. a body that is not JSON) are the caller's mistake.
      const apiErr = new ApiError('invalid_input', err.message || 'Malformed request.', { field: '(body)' });
      return c.json(errorBody(apiErr, requestId), 400);
    }
    (c.get('log') ?? deps.logger).error({ err }, 'unhandled error');
    const internal = new ApiError('internal', `Internal error. Quote request id ${requestId} when reporting it.`);
    return c.json(errorBody(internal, requestId), 500);
  });

  return app;
}

/** The methods routes answer on `path` (middleware registrations, method ALL, aside). */
function methodsFor(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const pattern = new RegExp(`^${route.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`);
    if (pattern.test(path)) {
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
    }
  }
  return [...methods].sort();
}
