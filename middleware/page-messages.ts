import type { Context } from 'hono';
import { sentByAnotherSite } from './origins.ts';

/**
 * The one-line message a page shows after our own redirect (`?notice=` or
 * `?error=`, set by the consoles' back()). Not when the browser says another
 * site's page sent it here (Sec-Fetch-Site cross-site or same-site): anyone
 * could otherwise link to the sign-in page with their own words in our alert
 * box. An address typed or opened from outside a browser page ("none") still
 * shows it: our own redirects after such a navigation carry messages too.
 */
export function pageMessage(c: Context, kind: 'notice' | 'error'): string | undefined {
  return sentByAnotherSite(c) ? undefined : c.req.query(kind);
}
