import type { Context, MiddlewareHandler } from 'hono';
import { hashApiKey, looksLikeApiKey } from '../auth/api-keys.ts';
import { betterAuthHeaders } from './addresses.ts';
import { ApiError } from './errors.ts';
import { sentByAnotherSite } from './origins.ts';
import { takeRequest } from './request-limits.ts';
import type { AppEnv } from './env.ts';

export const CHALLENGE = { headers: { 'www-authenticate': 'Bearer realm="kommit"' } };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Resolves the credential to a principal and the organization it claims.
 * - `Authorization: Bearer km_...`: an API key, bound to exactly one organization;
 *   only its shape is checked here, the key itself is resolved by the tenant
 *   transaction's first statement (one round trip for both).
 * - otherwise a Better Auth session cookie: the session's active organization.
 * The organization never comes from anything else the client sends (headers,
 * query, body). For sessions it is only a claim until the tenant transaction has
 * found the membership row (tenant-transaction.ts).
 */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    const header = c.req.header('authorization');
    if (header) await authenticateApiKey(c, header);
    else await authenticateSession(c);
    await next();
  };
}

async function authenticateApiKey(c: Context<AppEnv>, header: string) {
  const [scheme, token] = header.split(' ', 2);
  if (scheme?.toLowerCase() !== 'bearer' || !token || !looksLikeApiKey(token)) {
    throw new ApiError('unauthorized', 'The Authorization header does not carry a Kommit API key.', CHALLENGE);
  }
  const hash = hashApiKey(token);
  await takeRequest(c.get('platform').requestLimiters.key, hash.toString('base64url'), 'with this API key');
  c.set('apiKeyHash', hash);
}

export const INVALID_API_KEY = () => new ApiError('unauthorized', 'The API key is not valid or was revoked.', CHALLENGE);

async function authenticateSession(c: Context<AppEnv>) {
  if (!c.req.header('cookie')) {
    throw new ApiError('unauthorized', 'Sign in, or send an API key as "Authorization: Bearer km_...".', CHALLENGE);
  }
  const { auth } = c.get('platform');
  const { headers, response } = await auth.api.getSession({
    headers: betterAuthHeaders(c),
    query: { disableCookieCache: true },
    returnHeaders: true,
  });
  // Better Auth may roll the session forward; pass its refreshed cookie on.
  for (const cookie of headers.getSetCookie()) c.header('set-cookie', cookie, { append: true });
  if (!response) throw new ApiError('unauthorized', 'The session has expired or is not valid; sign in again.', CHALLENGE);
  await takeRequest(c.get('platform').requestLimiters.user, response.user.id, 'for this user');

  assertSameOrigin(c);

  const { session, user } = response;
  c.set('principal', { kind: 'session', userId: user.id, sessionId: session.id, email: user.email, name: user.name });
  const orgId = (session as { activeOrganizationId?: string | null }).activeOrganizationId;
  if (!orgId) {
    throw new ApiError('forbidden', 'No active organization: choose one with POST /v1/session/active-organization.');
  }
  c.set('org', { id: orgId });
}

/**
 * Cookies ride along on cross-site requests; a cookie-authenticated request must
 * come from our own site, and a write from our own origin (SameSite=Lax is the first line, this the second).
 * Every route that acts on a session cookie calls this, in the chain or not.
 */
export function assertSameOrigin(c: Context<AppEnv>) {
  // SameSite=Lax still sends the cookie when another site navigates to one of
  // our URLs: a GET that exports and records (the audit export, an evidence
  // pack) would run as the victim. Browsers name the requesting site (Fetch
  // Metadata); the API is never called from another site with a cookie.
  if (sentByAnotherSite(c)) {
    throw new ApiError('forbidden', 'Cookie-authenticated API requests must come from this site, not from a page of another one.');
  }
  if (SAFE_METHODS.has(c.req.method)) return;
  const origin = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
  if (origin !== new URL(c.get('platform').config.baseURL).origin) {
    throw new ApiError('forbidden', 'Cookie-authenticated changes must come from this site (Origin header).');
  }
}

function refererOrigin(referer: string | undefined) {
  try {
    return referer ? new URL(referer).origin : undefined;
  } catch {
    return undefined;
  }
}
