import type { MiddlewareHandler } from 'hono';
import { compileRanges, inRanges, isLoopback, socketOf } from './addresses.ts';
import { ApiError, problemResponse } from './errors.ts';
import type { AppEnv } from './env.ts';

export interface TlsOnlyOptions {
  production: boolean;
  /** CIDR ranges of reverse proxies whose X-Forwarded-Proto is believed. */
  trustedProxies: string[];
  /** Paths served over plain HTTP anyway (container health checks). */
  exempt?: string[];
}

/**
 * Refuses requests that did not arrive over TLS. Behind a reverse proxy the
 * proxy's X-Forwarded-Proto decides, but only when the peer is a trusted proxy:
 * anyone else could send the header. In development plain HTTP is accepted from
 * loopback only.
 */
export function tlsOnly(options: TlsOnlyOptions): MiddlewareHandler<AppEnv> {
  const trusted = compileRanges(options.trustedProxies);
  const exempt = new Set(options.exempt ?? []);
  return async function tlsOnly(c, next) {
    if (exempt.has(c.req.path)) return next();
    const { peer, encrypted } = socketOf(c);
    const forwardedProto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    const secure = inRanges(peer, trusted) && forwardedProto ? forwardedProto === 'https' : encrypted;
    if (secure || (!options.production && isLoopback(peer))) return next();

    if (options.production && (c.req.method === 'GET' || c.req.method === 'HEAD')) {
      const url = new URL(c.req.url);
      url.protocol = 'https:';
      url.port = '';
      return c.redirect(url.toString(), 308);
    }
    return problemResponse(
      c,
      new ApiError('tls_required', options.production ? 'Use https:// for this API.' : 'Plain HTTP is accepted from this machine only; use https://.'),
    );
  };
}
