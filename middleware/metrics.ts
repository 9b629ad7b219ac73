import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/tenant.ts';
import type { AppEnv } from './env.ts';
import { ApiError, problemResponse } from './errors.ts';

/** This process's Prometheus metrics: requests, latency, pools, audit appends, plus Node's defaults. */
export function createMetrics(pools: Record<string, Database>) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kommit_' });
  const requests = new Histogram({
    name: 'kommit_http_request_duration_seconds',
    help: 'HTTP requests by function, route pattern, method and status, with their latency.',
    labelNames: ['function', 'route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const auditAppends = new Counter({
    name: 'kommit_audit_appends_total',
    help: 'Audit rows appended by this process.',
    registers: [registry],
  });
  new Gauge({
    name: 'kommit_db_transactions',
    help: 'Database transactions running, waiting for a connection, and allowed at once, by pool.',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      for (const [pool, database] of Object.entries(pools)) {
        const stats = database.stats();
        this.set({ pool, state: 'active' }, stats.active);
        this.set({ pool, state: 'waiting' }, stats.waiting);
        this.set({ pool, state: 'capacity' }, stats.capacity);
      }
    },
  });
  return { registry, requests, auditAppends };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Times every request; labels use the route pattern, never the raw path (ids would explode the series). */
export function measureRequests(): MiddlewareHandler<AppEnv> {
  return async function measureRequests(c, next) {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = c.res.status === 404 && !c.get('functionName') ? 'unmatched' : routePath(c, -1);
      c.get('platform').metrics.requests.observe(
        { function: c.get('functionName') ?? 'platform', route, method: c.req.method, status: String(c.res.status) },
        (performance.now() - started) / 1000,
      );
    }
  };
}

/**
 * GET /metrics for Prometheus. Not public: it answers 404 unless a token is
 * configured (METRICS_TOKEN), and then only to `Authorization: Bearer <token>`.
 */
export function metricsRoute(token: string | undefined): MiddlewareHandler<AppEnv> {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return async (c) => {
    const given = Buffer.from(c.req.header('authorization') ?? '');
    if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return problemResponse(c, new ApiError('not_found', 'No route for GET /metrics.'));
    }
    const { registry } = c.get('platform').metrics;
    return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
  };
}
