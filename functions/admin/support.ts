import type { Context, MiddlewareHandler } from 'hono';
import { eq } from 'drizzle-orm';
import { NOT_AN_OPERATOR } from '../../auth/operators.ts';
import type { OperatorRequest } from '../../db/admin/console.ts';
import { platformOperators } from '../../db/schema/admin.ts';
import { clientAddress, withClientAddress } from '../../middleware/addresses.ts';
import type { AppEnv } from '../../middleware/env.ts';
import { setPageMessages, type FlashScope, type PageMessages } from '../../middleware/page-messages.ts';
import type { AdminEnv } from './env.ts';

export type AdminContext = Context<AdminEnv>;

/** The client's address as this process determined it (its trusted proxies only). */
export function addressOf(c: AdminContext) {
  // clientAddress reads the socket and headers only, the same in both apps.
  return clientAddress(c as unknown as Context<AppEnv>, c.get('admin').trustedProxyRanges) ?? null;
}

/** The request's headers for Better Auth, with our client address and nothing a client set under that name. */
export function authHeaders(c: AdminContext) {
  return withClientAddress(c.req.raw.headers, addressOf(c));
}

/** Who acts in this request, for the audit chains: the guarded operator, or the one named (signing in and out). */
export function operatorRequest(c: AdminContext, operator: OperatorRequest['operator'] = c.get('operator')): OperatorRequest {
  return { operator, requestId: c.get('requestId'), ip: addressOf(c), signer: c.get('admin').auditSigner };
}

/** The operator console's page messages (its own cookie: see FlashScope). */
export const adminFlash = (production: boolean): FlashScope => ({ console: 'admin', production });

/** Where to go next, with a one-line message for the page there (in a one-time cookie, never in the address). */
export function back(c: AdminContext, path: string, message: PageMessages = {}) {
  setPageMessages(c, adminFlash(c.get('admin').config.production), message);
  const url = new URL(path, 'http://admin.invalid');
  return c.redirect(url.pathname + url.search, 303);
}

export function forwardCookies(c: AdminContext, headers: Headers) {
  for (const cookie of headers.getSetCookie()) c.header('set-cookie', cookie, { append: true });
}

/** The message of a Better Auth error, or a generic one: never a stack trace. */
export function messageOf(error: unknown) {
  const body = (error as { body?: { message?: string } }).body;
  return body?.message ?? 'That did not work; please try again.';
}

export async function formFields(c: AdminContext) {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
}

export function session(c: AdminContext) {
  return c.get('admin').auth.api.getSession({ headers: authHeaders(c), query: { disableCookieCache: true } });
}

/** A refusal page's reason, and where the operator can go from there. */
export class Refused extends Error {
  constructor(message: string, readonly status: 401 | 403 | 404 | 410) {
    super(message);
  }
}

/**
 * Every page but signing in: a session of the admin console, of a user who is
 * a platform operator now (checked live on each request, so a revoked operator
 * is out at once), made by a second-factor check. An operator who has not set
 * up TOTP yet may only do that.
 */
export function requireOperator(): MiddlewareHandler<AdminEnv> {
  return async function requireOperator(c, next) {
    const current = await session(c);
    if (!current) return back(c, '/admin/sign-in');
    const { database } = c.get('admin');
    const [operator] = await database.db.select({ userId: platformOperators.userId }).from(platformOperators).where(eq(platformOperators.userId, current.user.id));
    if (!operator) throw new Refused(NOT_AN_OPERATOR, 403);
    if (!current.session.secondFactorAt) {
      if (!current.user.twoFactorEnabled) return back(c, '/admin/two-factor/setup');
      throw new Refused('This session was not confirmed with a second factor. Sign out and sign in again with your authenticator code.', 403);
    }
    c.set('operator', { userId: current.user.id, email: current.user.email });
    await next();
  };
}

/**
 * Forms post with the session cookie (SameSite=Strict); this also refuses
 * whatever arrives without the admin console's own Origin.
 */
export function sameOriginForms(): MiddlewareHandler<AdminEnv> {
  return async function sameOriginForms(c, next) {
    if (c.req.method === 'POST' && c.req.header('origin') !== new URL(c.get('admin').config.baseURL).origin) {
      throw new Refused('This form must be sent from the Kommit admin console itself.', 403);
    }
    await next();
  };
}
