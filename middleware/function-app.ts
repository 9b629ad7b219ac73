import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { authenticate } from './authenticate.ts';
import type { AppEnv } from './env.ts';
import { validationHook } from './errors.ts';
import { tenantTransaction } from './tenant-transaction.ts';

export type FunctionApp = OpenAPIHono<AppEnv> & {
  functionName: string;
  /** The tenant chain, for plain (non-OpenAPI) routes such as console pages. */
  tenantChain: MiddlewareHandler<AppEnv>[];
  /**
   * Declares a route whose caller is checked (and c.var.org set) as on the
   * tenant chain, but whose handler runs outside any transaction and opens its
   * own with callerTransactions: for work that must not hold a connection
   * meanwhile, such as waiting on a remote service.
   */
  openapiWithCallerTransactions: OpenAPIHono<AppEnv>['openapi'];
  /** Declares a route that does its own authentication and runs outside any tenant. */
  openapiWithoutTenant: OpenAPIHono<AppEnv>['openapi'];
  /** Names the function in logs, for plain routes outside the tenant chain. */
  named: MiddlewareHandler<AppEnv>;
};

function nameFunction(name: string): MiddlewareHandler<AppEnv> {
  return async function nameFunction(c, next) {
    c.set('functionName', name);
    await next();
  };
}

/**
 * The app a function module builds its routes on. The tenant chain is attached
 * to each route the module declares (ahead of its validators and handler)
 * rather than with use('*'): mounted next to other functions in one process, a
 * wildcard would run this chain for their routes too.
 */
export function createFunctionApp(name: string): FunctionApp {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }) as FunctionApp;
  app.functionName = name;
  app.named = nameFunction(name);
  app.tenantChain = [app.named, authenticate(), tenantTransaction()];
  const register = app.openapi;
  const withMiddleware = (chain: MiddlewareHandler<AppEnv>[]) =>
    ((route, handler, hook) => {
      const own = route.middleware ? [route.middleware].flat() : [];
      return register({ ...route, middleware: [...chain, ...own] }, handler, hook);
    }) as typeof app.openapi;
  app.openapi = withMiddleware(app.tenantChain);
  app.openapiWithCallerTransactions = withMiddleware([app.named, authenticate(), tenantTransaction({ span: 'entry' })]);
  app.openapiWithoutTenant = withMiddleware([app.named]);
  return app;
}
