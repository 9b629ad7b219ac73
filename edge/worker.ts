import type { Logger } from 'pino';
import { signerFromEnv } from '../db/audit/checkpoint.ts';
import { assertConnection, BootCheckError, checkAppConnection, checkAuthConnection } from '../db/boot-checks.ts';
import { roleNamesFromEnv } from '../db/roles.ts';
import { embedderFromEnv } from '../db/search/remote-embedder.ts';
import { createDatabase } from '../db/tenant.ts';
import { httpConfigFromEnv } from '../middleware/config.ts';
import { PROBLEMS } from '../middleware/errors.ts';
import type { FunctionApp } from '../middleware/function-app.ts';
import { createPlatform } from '../middleware/platform.ts';
import { createPlatformApp } from '../middleware/platform-app.ts';
import { edgeLogger } from './logger.ts';
import { requestDatabase, withRequestDatabases } from './request-databases.ts';

/** What a worker is given as bindings (vars and secrets), all strings: the same names as the Node server's environment. */
export interface EdgeBindings {
  DATABASE_URL?: string;
  AUTH_DATABASE_URL?: string;
  BETTER_AUTH_SECRET?: string;
  WEBHOOK_SECRET_KEY?: string;
  AUDIT_SIGNING_KEY?: string;
  KOMMIT_BASE_URL?: string;
  NODE_ENV?: string;
  LOG_LEVEL?: string;
  /**
   * Header carrying the client's address, set by the platform in front of the
   * worker and never by the client (Cloudflare: cf-connecting-ip). Unset, the
   * client address is unknown (per-address limits then share one bucket).
   */
  CLIENT_ADDRESS_HEADER?: string;
  [name: string]: unknown;
}

interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

const REQUIRED = ['DATABASE_URL', 'AUTH_DATABASE_URL', 'BETTER_AUTH_SECRET', 'WEBHOOK_SECRET_KEY'] as const;
/**
 * Required in production only, as the Node server requires them there: the
 * public origin (never taken from a request, whose Host a client chooses), and
 * the audit signing key (without it the worker would serve governed writes but
 * sign no checkpoints, and a cut-off audit log could not be detected).
 */
const REQUIRED_IN_PRODUCTION = ['KOMMIT_BASE_URL', 'AUDIT_SIGNING_KEY'] as const;

/**
 * One function module as a workerd fetch handler, behind the same platform app
 * (edge chain, /health, tenant chain, errors) as the Node server.
 *
 * The platform is built once per isolate, on its first request: its in-memory
 * rate limits (sign-in attempts, requests per address, webhook deliveries)
 * then hold across the requests the isolate serves, as they do in a Node
 * process. Database clients cannot be shared that way (workerd does not let a
 * socket opened for one request serve another), so each request gets its own,
 * closed after the response through waitUntil, and the platform reaches them
 * through request-databases.ts. The boot checks of the Node server (role, TLS,
 * forced RLS) run once per isolate, before its first request is served; an
 * isolate that fails them answers 503 to everything.
 */
export function createEdgeWorker(fn: FunctionApp) {
  let bootCheck: Promise<string | null> | undefined;
  let app: ReturnType<typeof createPlatformApp> | undefined;
  return {
    async fetch(request: Request, env: EdgeBindings, ctx: ExecutionContextLike): Promise<Response> {
      const vars = stringBindings(env);
      const logger = edgeLogger(vars.LOG_LEVEL ?? 'info', { service: `kommit-${fn.functionName}` });
      const missing = [...REQUIRED, ...(vars.NODE_ENV === 'production' ? REQUIRED_IN_PRODUCTION : [])].filter((name) => !vars[name]);
      if (missing.length) {
        logger.error({ missing }, 'required bindings are not set');
        return unavailable(`This worker is missing configuration: ${missing.join(', ')}.`);
      }
      const pool = { max: 2, statementTimeoutSeconds: 30 };
      const databases = {
        database: createDatabase(vars.DATABASE_URL!, { ...pool, applicationName: `kommit-${fn.functionName}` }),
        authDatabase: createDatabase(vars.AUTH_DATABASE_URL!, { ...pool, applicationName: `kommit-${fn.functionName}-auth` }),
      };
      const closeAll = () => Promise.all([databases.database.close(), databases.authDatabase.close()]).catch(() => {});
      try {
        const roles = roleNamesFromEnv(vars);
        // A refusal is kept for the isolate's life; a failure to reach the
        // database is not, so the next request checks again.
        bootCheck ??= Promise.all([
          assertConnection(checkAppConnection(databases.database.sql, roles)),
          assertConnection(checkAuthConnection(databases.authDatabase.sql, roles)),
        ]).then(
          () => null,
          (error: Error) => {
            if (!(error instanceof BootCheckError)) bootCheck = undefined;
            return error.message;
          },
        );
        const refusal = await bootCheck;
        if (refusal) {
          logger.error(refusal);
          ctx.waitUntil(closeAll());
          return unavailable('This worker cannot serve: its database connections failed the start-up checks (see the log).');
        }
        // Bindings come with every request but are the isolate's, the same each
        // time: the first request's build the platform for all that follow.
        app ??= createPlatformApp(createIsolatePlatform(fn, vars, request, logger), [fn]);
        const serving = app;
        const response = await withRequestDatabases(databases, () => serving.fetch(request, { ...env, incoming: { socket: socketFacts(request, vars) } }));
        ctx.waitUntil(closeAll());
        return response;
      } catch (error) {
        // Only what the app could not answer itself lands here (it renders its
        // own errors): in practice a platform that could not be built from the
        // bindings, such as a malformed WEBHOOK_SECRET_KEY. The next request tries again.
        ctx.waitUntil(closeAll());
        logger.error({ err: error }, 'request failed outside the app (is the configuration valid?)');
        return unavailable('This worker cannot serve: its configuration was refused (see the log).');
      }
    },
  };
}

/** The platform an isolate keeps, on stand-ins for the databases of whichever request it is serving. */
function createIsolatePlatform(fn: FunctionApp, vars: Record<string, string>, request: Request, logger: Logger) {
  return createPlatform({
    database: requestDatabase('database'),
    authDatabase: requestDatabase('authDatabase'),
    // Without KOMMIT_BASE_URL (outside production), the origin the first request came to.
    config: httpConfigFromEnv({ ...vars, KOMMIT_BASE_URL: vars.KOMMIT_BASE_URL ?? new URL(request.url).origin }),
    logger,
    authSecret: vars.BETTER_AUTH_SECRET!,
    secretKey: vars.WEBHOOK_SECRET_KEY!,
    // Production never gets here without the key (REQUIRED_IN_PRODUCTION); a
    // development or test worker without one serves and signs no checkpoints.
    auditSigner: vars.AUDIT_SIGNING_KEY ? signerFromEnv(vars.AUDIT_SIGNING_KEY, vars) : undefined,
    functions: [fn.functionName],
    embedder: embedderFromEnv(vars),
    ready: () => true,
  });
}

/**
 * What the platform's TLS-only and client-address checks read from a Node
 * socket, from what workerd knows: the request URL's scheme is the scheme the
 * client used to reach the runtime (https only where TLS ended at it or at the
 * platform in front of it), and the address comes from the header named by
 * CLIENT_ADDRESS_HEADER, which only a platform that overwrites it may name.
 */
function socketFacts(request: Request, vars: Record<string, string>) {
  const header = vars.CLIENT_ADDRESS_HEADER;
  return {
    encrypted: new URL(request.url).protocol === 'https:',
    remoteAddress: header ? request.headers.get(header)?.trim() || undefined : undefined,
  };
}

function stringBindings(env: EdgeBindings) {
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === 'string') vars[name] = value;
  return vars;
}

/** The platform's problem body, for answers given before there is a platform app to give them. */
function unavailable(detail: string) {
  const { status, title } = PROBLEMS.unavailable;
  return new Response(JSON.stringify({ type: 'urn:kommit:problem:unavailable', title, status, detail }), {
    status: 503,
    headers: { 'content-type': 'application/problem+json', 'retry-after': '5' },
  });
}
