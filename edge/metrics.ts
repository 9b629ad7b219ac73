import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/tenant.ts';
import type { AppEnv } from '../middleware/env.ts';
import { ApiError, problemResponse } from '../middleware/errors.ts';

/**
 * The edge counterpart of middleware/metrics.ts: a worker isolate lives for
 * a request or a few, so per-process Prometheus counters mean nothing there
 * (and prom-client needs Node). Same names, nothing recorded; /metrics does
 * not exist at the edge (the platform's own analytics cover it).
 */
const noop = { observe() {}, inc() {} };

export function createMetrics(_pools: Record<string, Database>) {
  return { registry: undefined, requests: noop, auditAppends: noop };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function measureRequests(): MiddlewareHandler<AppEnv> {
  return async function measureRequests(_c, next) {
    await next();
  };
}

export function metricsRoute(_token: string | undefined): MiddlewareHandler<AppEnv> {
  return async (c) => problemResponse(c, new ApiError('not_found', 'No route for GET /metrics.'));
}
