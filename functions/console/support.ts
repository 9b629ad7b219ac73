import type { Context, MiddlewareHandler } from 'hono';
import { betterAuthHeaders } from '../../middleware/addresses.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { pageMessages, setPageMessages, type FlashScope, type PageMessages } from '../../middleware/page-messages.ts';

const consoleFlash = (c: Context<AppEnv>): FlashScope => ({ console: 'console', production: c.get('platform').config.production });

/** Where to go next, with a one-line message for the page there (in a one-time cookie, never in the address). */
export function back(c: Context<AppEnv>, path: string, message: PageMessages = {}) {
  setPageMessages(c, consoleFlash(c), message);
  const url = new URL(path, 'http://console.invalid');
  return c.redirect(url.pathname + url.search, 303);
}

/** Console pages show what back() left for them (pageMessage). */
export function consoleMessages() {
  return pageMessages<AppEnv>(consoleFlash);
}

/** Passes Better Auth's cookies (session set or cleared) on to the browser. */
export function forwardCookies(c: Context<AppEnv>, headers: Headers) {
  for (const cookie of headers.getSetCookie()) c.header('set-cookie', cookie, { append: true });
}

export function session(c: Context<AppEnv>) {
  return c.get('platform').auth.api.getSession({ headers: betterAuthHeaders(c), query: { disableCookieCache: true } });
}

/** The message of a Better Auth error, or a generic one: never a stack trace. */
export function messageOf(error: unknown) {
  const body = (error as { body?: { message?: string } }).body;
  return body?.message ?? 'That did not work; please try again.';
}

/**
 * Console forms post with the session cookie. SameSite=Lax keeps other sites'
 * forms from carrying it; this refuses what still arrives without our Origin
 * (sign-in included, so no one can sign a victim into an attacker's account).
 */
export function sameOriginForms(): MiddlewareHandler<AppEnv> {
  return async function sameOriginForms(c, next) {
    if (c.req.method === 'POST') {
      const origin = c.req.header('origin');
      if (origin !== new URL(c.get('platform').config.baseURL).origin) {
        return c.text('This form must be sent from the Kommit console itself.', 403);
      }
    }
    await next();
  };
}

/**
 * Console pages are for people signed in with a session: a request carrying
 * an API key (which the tenant chain would otherwise accept) is sent to the
 * sign-in page like any visitor without a session, before anything runs.
 */
export function peopleOnly(): MiddlewareHandler<AppEnv> {
  return async function peopleOnly(c, next) {
    if (c.req.header('authorization') !== undefined) return back(c, '/console/sign-in');
    await next();
  };
}

/** Page chrome: Content-Security-Policy allowing nothing but our own forms and inline styles. */
export function consoleHeaders(): MiddlewareHandler<AppEnv> {
  return async function consoleHeaders(c, next) {
    await next();
    // With the platform's own helpdesk (npm start on the embedded default),
    // every page carries its chat widget: our script and its calls to our own
    // origin are the only things the policy lets in beyond styles.
    const widgetKey = c.get('platform').platformWidgetKey;
    const widget = widgetKey !== undefined && c.res.status === 200 && (c.res.headers.get('content-type') ?? '').startsWith('text/html');
    if (widget) {
      const html = (await c.res.text()).replace('</body>', `<script src="/widget.js" data-key="${widgetKey.replace(/[^A-Za-z0-9_-]/g, '')}" async></script></body>`);
      c.res = new Response(html, c.res);
    }
    c.res.headers.set(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; ${widget ? "script-src 'self'; connect-src 'self'; " : ''}form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    c.res.headers.set('cache-control', 'no-store');
  };
}
