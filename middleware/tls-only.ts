import type { MiddlewareHandler } from 'hono';
import ipaddr from 'ipaddr.js';
import { ApiError, problemResponse } from './errors.ts';
import type { AppEnv } from './env.ts';

export interface TlsOnlyOptions {
  production: boolean;
  /** CIDR ranges of reverse proxies whose X-Forwarded-Proto is believed. */
  trustedProxies: string[];
  /** Paths served over plain HTTP anyway (container health checks). */
  exempt?: string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseAddress(address: string) {
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
  return ipaddr.process(address);
}

export function compileRanges(cidrs: string[]): Range[] {
  return cidrs.map((cidr) => {
    try {
      return cidr.includes('/') ? ipaddr.parseCIDR(cidr) : ([parseAddress(cidr), parseAddress(cidr).kind() === 'ipv4' ? 32 : 128] as Range);
    } catch {
      throw new Error(`TRUSTED_PROXIES: "${cidr}" is not an address or CIDR range`);
    }
  });
}

function inRanges(address: string | undefined, ranges: Range[]) {
  if (!address || !ipaddr.isValid(address)) return false;
  const parsed = parseAddress(address);
  return ranges.some(([range, bits]) => parsed.kind() === range.kind() && parsed.match(range, bits));
}

export function isLoopback(address: string | undefined) {
  return !!address && ipaddr.isValid(address) && parseAddress(address).range() === 'loopback';
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
    const socket = c.env?.incoming?.socket as (import('node:net').Socket & { encrypted?: boolean }) | undefined;
    const peer = socket?.remoteAddress;
    const forwardedProto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    const secure = inRanges(peer, trusted) && forwardedProto ? forwardedProto === 'https' : socket?.encrypted === true;
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
