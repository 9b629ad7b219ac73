import type { Context } from 'hono';
import ipaddr from 'ipaddr.js';
import type { AppEnv } from './env.ts';

export type AddressRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parse(address: string) {
  // Node reports IPv4 clients of a dual-stack socket as ::ffff:a.b.c.d.
  return ipaddr.process(address);
}

/**
 * parse() for addresses looked at on every request (the peer, X-Forwarded-For
 * hops), or null when not an address; remembered, since a few peers send most
 * requests and each request asks several times. Bounded: forgotten all at once
 * when full.
 */
const known = new Map<string, ipaddr.IPv4 | ipaddr.IPv6 | null>();
function parsed(address: string) {
  let result = known.get(address);
  if (result === undefined) {
    result = ipaddr.isValid(address) ? parse(address) : null;
    if (known.size >= 4096) known.clear();
    known.set(address, result);
  }
  return result;
}

export function compileRanges(cidrs: string[]): AddressRange[] {
  return cidrs.map((cidr) => {
    try {
      if (cidr.includes('/')) return ipaddr.parseCIDR(cidr);
      const address = parse(cidr);
      return [address, address.kind() === 'ipv4' ? 32 : 128];
    } catch {
      throw new Error(`TRUSTED_PROXIES: "${cidr}" is not an address or CIDR range`);
    }
  });
}

export function inRanges(address: string | undefined, ranges: AddressRange[]) {
  const ip = ranges.length && address ? parsed(address) : null;
  return !!ip && ranges.some(([range, bits]) => ip.kind() === range.kind() && ip.match(range, bits));
}

export function isLoopback(address: string | undefined) {
  return !!address && parsed(address)?.range() === 'loopback';
}

/** The TCP peer and whether the connection itself is TLS, as the Node server saw it. */
export function socketOf(c: Context<AppEnv>) {
  const socket = c.env?.incoming?.socket as { remoteAddress?: string; encrypted?: boolean } | undefined;
  return { peer: socket?.remoteAddress, encrypted: socket?.encrypted === true };
}

/**
 * The client's address: the TCP peer, unless the peer is a trusted proxy, in
 * which case the nearest X-Forwarded-For hop that is not itself a trusted proxy.
 * Anyone else's X-Forwarded-For is ignored: it is whatever the client wrote.
 */
export function clientAddress(c: Context<AppEnv>, trusted: AddressRange[]) {
  const { peer } = socketOf(c);
  if (!inRanges(peer, trusted)) return peer;
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((hop) => hop.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!inRanges(hops[i], trusted)) return parsed(hops[i]!)?.toString() ?? peer;
  }
  return peer;
}

/**
 * What a per-address limit counts: an IPv4 address itself, an IPv6 address's
 * /64 (one host is usually given a whole /64, so counting single addresses
 * would let it rotate past any limit).
 */
export function addressBucket(address: string | undefined) {
  const ip = address ? parsed(address) : null;
  if (!ip) return 'unknown';
  if (ip.kind() === 'ipv4') return ip.toString();
  const parts = (ip as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${parts.join(':')}::/64`;
}

/** The client's address for this request, with the platform's trusted proxies. */
export function requestAddress(c: Context<AppEnv>) {
  return clientAddress(c, c.get('platform').trustedProxyRanges);
}

/**
 * The header through which Better Auth learns the client address the platform
 * determined. Whatever a client sends under this name is replaced.
 */
export const CLIENT_ADDRESS_HEADER = 'x-kommit-client-address';

/**
 * A copy of `headers` whose CLIENT_ADDRESS_HEADER is `address` (or absent when
 * the address is unknown), never the client's own value: Better Auth writes
 * that header into sessions and audit rows.
 */
export function withClientAddress(headers: Headers, address: string | null | undefined) {
  const copy = new Headers(headers);
  copy.delete(CLIENT_ADDRESS_HEADER);
  if (address) copy.set(CLIENT_ADDRESS_HEADER, address);
  return copy;
}

/**
 * The headers for any Better Auth call made for this request (`auth.api.*`
 * or its handler). Never pass `c.req.raw.headers` itself: a client could name
 * its own address.
 */
export function betterAuthHeaders(c: Context<AppEnv>) {
  return withClientAddress(c.req.raw.headers, requestAddress(c));
}
