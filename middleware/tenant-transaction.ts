import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';

class RollBack extends Error {}

/**
 * Runs the rest of the request inside withTenant(c.var.org.id) and exposes the
 * transaction as c.var.tx. Hono turns a thrown error into a response before
 * `await next()` returns here, so success is judged from c.error and the status:
 * a handler that threw or answered 5xx rolls back everything it wrote.
 */
export function tenantTransaction(): MiddlewareHandler<AppEnv> {
  return async function tenantTransaction(c, next) {
    const { database } = c.get('platform');
    try {
      await database.withTenant(c.get('org').id, async (tx) => {
        c.set('tx', tx);
        await next();
        if (c.error || c.res.status >= 500) throw new RollBack();
      });
    } catch (error) {
      if (!(error instanceof RollBack)) throw error;
    }
  };
}
