import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';

/**
 * One structured line per request. The path is logged without its query string,
 * and no header is logged, so credentials never reach the logs.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLog(c, next) {
    const started = performance.now();
    await next();
    c.get('platform').logger.info({
      reqId: c.get('requestId'),
      fn: c.get('functionName'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
  };
}
