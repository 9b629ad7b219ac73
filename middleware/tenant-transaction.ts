import { and, eq, gt, sql } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { sessions } from '../db/schema/auth.ts';
import { effectiveRole } from '../db/member-roles.ts';
import { failedAhead, type Tx } from '../db/tenant.ts';
import type { AppEnv } from './env.ts';
import { CHALLENGE, INVALID_API_KEY } from './authenticate.ts';
import { sqlStateOf } from '../db/query-errors.ts';
import { ApiError, onError } from './errors.ts';

class RollBack extends Error {}
class NotAMember extends Error {}

/**
 * Runs the rest of the request inside withTenant(c.var.org.id) and exposes the
 * transaction as c.var.tx.
 *
 * For a session, the statement that sets the tenant context also finds the
 * caller's membership row and share-locks it (withTenantMember): a removal waits for this request to end, or
 * committed before it looked, and then the request is refused. So a member
 * removed concurrently cannot slip a write in after the removal committed.
 *
 * Hono turns a thrown error into a response before `await next()` returns here,
 * so success is judged from c.error and the status: a handler that threw or
 * answered 5xx rolls back everything it wrote.
 */
export function tenantTransaction(options: { span: 'request' | 'entry' } = { span: 'request' }): MiddlewareHandler<AppEnv> {
  return async function tenantTransaction(c, next) {
    const { database, authDatabase } = c.get('platform');
    async function run(tx: Tx) {
      // Entry only: the caller is checked and the context set; the handler opens its own transactions.
      if (options.span === 'entry') {
        c.set('tx', NO_REQUEST_TRANSACTION);
        return;
      }
      c.set('tx', tx);
      await next();
      if (c.error || c.res.status >= 500) {
        // After an audit append sent ahead had failed, the handler's next
        // statement could only fail with "transaction aborted": answer for the
        // append's error instead (a NUL in the audited data is the client's, a 400).
        const cause = failedAhead(tx);
        if (cause instanceof Error && sqlStateOf(c.error) === '25P02') c.res = onError(cause, c);
        throw new RollBack();
      }
    }
    const apiKeyHash = c.get('apiKeyHash');
    const principal = c.get('principal');
    try {
      if (apiKeyHash) {
        await database.withTenantKey(apiKeyHash, async (tx, key) => {
          if (!key) throw INVALID_API_KEY();
          c.set('principal', { kind: 'api_key', id: key.keyId });
          c.set('org', { id: key.orgId });
          await run(tx);
        });
      } else if (principal?.kind === 'session') {
        await database.withTenantMember(c.get('org').id, principal.userId, async (tx, stored) => {
          if (!stored) throw new NotAMember();
          // Handlers only ever see the effective role, never Better Auth's stored
          // string (which may be a comma list such as "admin,member").
          const role = effectiveRole(stored);
          if (!role) throw new ApiError('forbidden', 'Your membership in this organization has no role Kommit knows; an owner must set one.');
          c.set('member', { role });
          await run(tx);
        });
      } else {
        throw new Error('tenantTransaction needs authenticate() before it');
      }
      if (options.span === 'entry') await next();
    } catch (error) {
      if (error instanceof RollBack) return;
      if (error instanceof NotAMember && principal?.kind === 'session') {
        // Better Auth leaves removed members' sessions pointing at the
        // organization; clear the stale claim in every session of this user.
        const orgId = c.get('org').id;
        await authDatabase.db
          .update(sessions)
          .set({ activeOrganizationId: null })
          .where(and(eq(sessions.userId, principal.userId), eq(sessions.activeOrganizationId, orgId)));
        throw new ApiError('forbidden', 'You are not a member of the active organization; choose another one.');
      }
      throw error;
    }
  };
}

/**
 * c.var.tx on a route that runs outside the request's transaction: any use
 * fails with what to do instead, rather than with a TypeError deep in a query.
 */
const NO_REQUEST_TRANSACTION = new Proxy({} as Tx, {
  get() {
    throw new Error('this route runs outside a request transaction (openapiWithCallerTransactions): open one with callerTransactions(c)');
  },
});

/**
 * What a caller transaction answers when the caller no longer has access:
 * `credentials` when the API key was revoked or the session ended (sign in
 * again: 401), `membership` when the member was removed or lost every role
 * Kommit knows (403).
 */
export class AccessGone {
  constructor(readonly lost: 'credentials' | 'membership') {}

  /** The answer for a route whose caller lost access between the entry check and its own transaction. */
  problem(): ApiError {
    return this.lost === 'credentials'
      ? new ApiError('unauthorized', 'Your API key was revoked or your session ended while the request ran; sign in again.', CHALLENGE)
      : new ApiError('forbidden', 'Access to this organization ended while the request ran.');
  }
}

/**
 * Transactions of their own as this request's caller, for work that outlives
 * the request's transaction (the pages of a streamed export). Each one checks
 * the caller again as tenantTransaction did, in the statement that enters the
 * tenant: the API key still valid, or the session still live and the
 * membership still there with a role Kommit knows (and share-locked while fn
 * runs). fn runs only then; otherwise the answer is an AccessGone and nothing
 * of the tenant was read.
 */
export function callerTransactions(c: Context<AppEnv>) {
  const { database, authDatabase } = c.get('platform');
  // Read now: the request (and its context) may be over by the time these run.
  const orgId = c.get('org').id;
  const apiKeyHash = c.get('apiKeyHash');
  const principal = c.get('principal');
  return function asCaller<T>(fn: (tx: Tx) => Promise<T>): Promise<T | AccessGone> {
    if (apiKeyHash) {
      return database.withTenantKey(apiKeyHash, async (tx, key) => (key?.orgId === orgId ? fn(tx) : new AccessGone('credentials')));
    }
    if (principal.kind === 'session') {
      return (async () => {
        // Signed out (or the session expired or was revoked) since the request began: the session row is gone or stale.
        const [live] = await authDatabase.db
          .select({ id: sessions.id })
          .from(sessions)
          .where(and(eq(sessions.id, principal.sessionId), gt(sessions.expiresAt, sql`now()`)));
        if (!live) return new AccessGone('credentials');
        return database.withTenantMember(orgId, principal.userId, async (tx, stored) => (stored && effectiveRole(stored) ? fn(tx) : new AccessGone('membership')));
      })();
    }
    throw new Error('callerTransactions needs a request that passed tenantTransaction');
  };
}
