import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import { mountDocs } from './docs.ts';
import { measureRequests, metricsRoute } from './metrics.ts';
import { limitByAddress } from './request-limits.ts';
import { withExamples, type OpenApiDocument } from './openapi-examples.ts';
import { withPlatformErrors } from './openapi.ts';
import type { AppEnv, Platform } from './env.ts';
import { ApiError, notFound, onError, problemResponse } from './errors.ts';
import type { FunctionApp } from './function-app.ts';
import { requestId } from './request-id.ts';
import { requestLog } from './request-log.ts';
import { tlsOnly } from './tls-only.ts';

const HEALTH_TIMEOUT_MS = 2000;

/**
 * Hono's bodyLimit, asked only about a body sent without a length. It starts by
 * reading c.req.raw.body, which turns @hono/node-server's light request into a
 * full Request whose body is then read through web streams, costly on every
 * write. A declared Content-Length decides by itself (Node makes the body match
 * it), and a request with neither it nor Transfer-Encoding has no body. That
 * holds in workerd too: it marks a body of unknown length Transfer-Encoding:
 * chunked, whether it came over HTTP or from another worker's fetch
 * (edge/edge.test.ts holds a streamed body to the limit).
 */
function limitBodies(maxSize: number): MiddlewareHandler<AppEnv> {
  const onError = (c: Context<AppEnv>) => problemResponse(c, new ApiError('payload_too_large', `Bodies are limited to ${maxSize} bytes.`));
  const streamed = bodyLimit({ maxSize, onError });
  return async function limitBodies(c, next) {
    if (c.req.header('transfer-encoding') !== undefined) return streamed(c, next);
    const length = c.req.header('content-length');
    if (length === undefined) return next();
    return Number.parseInt(length, 10) > maxSize ? onError(c) : next();
  };
}

/**
 * The one app a process serves: the edge of the chain, /health, the OpenAPI
 * document and reference page, and the selected function apps mounted as they
 * are (each carries its own tenant chain).
 */
export function createPlatformApp(platform: Platform, functions: FunctionApp[]) {
  const { config } = platform;
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestId());
  app.use(async function bindPlatform(c, next) {
    c.set('platform', platform);
    await next();
  });
  app.use(
    secureHeaders({
      strictTransportSecurity: config.production ? 'max-age=63072000; includeSubDomains' : false,
      xFrameOptions: 'DENY',
      // Not no-referrer: with it browsers send "Origin: null" on our own form posts.
      referrerPolicy: 'same-origin',
      // A route may set one of these itself and keep it: the chat widget's
      // script is loaded by other sites, so it says Cross-Origin-Resource-Policy: cross-origin.
      overwrite: false,
    }),
  );
  // Responses that set no policy of their own (API JSON, problems) load nothing
  // and frame nowhere, and are not stored: they carry tenant data, which no
  // browser disk cache or shared proxy should keep.
  app.use(async function defaultPolicies(c, next) {
    await next();
    if (!c.res.headers.has('content-security-policy')) c.res.headers.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });
  app.use(measureRequests());
  app.use(requestLog());
  // Health checks and the metrics scrape come from inside the cluster network, over plain HTTP.
  app.use(tlsOnly({ production: config.production, trustedProxies: config.trustedProxies, exempt: ['/health', '/metrics'] }));
  app.use(limitByAddress(['/health', '/metrics']));
  app.use(limitBodies(config.maxBodyBytes));

  // Container health checks call this directly over plain HTTP: it says whether
  // this process can serve, and nothing about any tenant.
  app.get('/health', async (c) => {
    const body = { status: 'ok' as 'ok' | 'unavailable', functions: platform.functions };
    let ok = platform.ready();
    if (ok) {
      const probe = platform.database.sql`select 1`.then(() => true, () => false);
      const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, HEALTH_TIMEOUT_MS, false).unref());
      ok = await Promise.race([probe, timeout]);
    }
    if (!ok) body.status = 'unavailable';
    return c.json(body, ok ? 200 : 503, ok ? {} : { 'retry-after': '5' });
  });

  app.get('/metrics', metricsRoute(config.metricsToken));

  for (const fn of functions) app.route('/', fn);

  app.openAPIRegistry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An organization-bound API key (km_...). Create one with `npm run keys:create -- --org <id>`, or as an owner or admin with POST /v1/api-keys.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: config.production ? '__Secure-better-auth.session_token' : 'better-auth.session_token',
    description:
      'A signed-in member’s session (POST /api/auth/sign-in/email sets the cookie), acting in its active organization. ' +
      'Changes sent with it must carry this site’s Origin header. Routes marked with this scheme alone are for people: an API key gets 403 there.',
  });
  // Built once, on first request: the routes do not change while the process runs.
  let document: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get('/openapi.json', (c) => {
    document ??= withPlatformErrors(withExamples(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: 'Kommit API',
          version: '0.1.0',
          description: 'Multi-tenant governance backend. Every route is scoped to the organization the credential belongs to.',
        },
        security: [{ apiKey: [] }, { session: [] }],
      }) as OpenApiDocument,
    )) as ReturnType<typeof app.getOpenAPI31Document>;
    return c.json(document);
  });
  mountDocs(app);

  app.notFound(notFound);
  app.onError(onError);
  return app;
}
