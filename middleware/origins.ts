import type { Context } from 'hono';

/**
 * Allowed origins of a widget: exact origins (`https://shop.example.com`,
 * `http://localhost:3000`) or a wildcard for subdomains (`https://*.example.com`,
 * which matches `https://a.example.com` and `https://a.b.example.com` but not
 * `https://example.com`). Scheme and port always match exactly.
 */
export const ORIGIN_PATTERN = /^https?:\/\/(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

/** Lower-cases and drops a default port, so equal origins compare equal. */
export function normaliseOrigin(origin: string) {
  return origin.trim().toLowerCase().replace(/^(https:\/\/[^/]+):443$/, '$1').replace(/^(http:\/\/[^/]+):80$/, '$1');
}

export function originAllowed(origin: string | undefined, allowed: string[]) {
  // Browsers always send Origin on the widget's cross-origin requests; without one, it is not a widget.
  if (!origin || origin === 'null') return false;
  const candidate = normaliseOrigin(origin);
  if (!ORIGIN_PATTERN.test(candidate) || candidate.includes('*')) return false;
  return allowed.some((entry) => {
    const pattern = normaliseOrigin(entry);
    if (!pattern.includes('*.')) return pattern === candidate;
    const [scheme, rest] = pattern.split('://*.') as [string, string];
    const [host, port] = rest.split(':');
    const url = new URL(candidate);
    return `${url.protocol}` === `${scheme}:` && (url.port || undefined) === port && url.hostname.endsWith(`.${host}`);
  });
}

/**
 * Whether the browser says another site's page sent this request
 * (Fetch Metadata: Sec-Fetch-Site cross-site or same-site). Clients that send
 * no such header (curl, scripts) are not browsers; "none" is a typed address.
 */
export function sentByAnotherSite(c: Context) {
  const site = c.req.header('sec-fetch-site');
  return site === 'cross-site' || site === 'same-site';
}
