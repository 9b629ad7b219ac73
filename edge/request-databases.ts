import { AsyncLocalStorage } from 'node:async_hooks';
import { forwarding } from '../db/forwarding.ts';
import type { Database } from '../db/tenant.ts';

/**
 * workerd ties a socket to the request that opened it: a connection opened
 * while serving one request can serve neither the next one nor one running
 * beside it ("Cannot perform I/O on behalf of a different request"). So each
 * request gets database clients of its own, while the platform (rate limiters,
 * Better Auth, the app) is built once per isolate and reaches the database
 * through stand-ins that forward every use to the current request's clients.
 */
export interface RequestDatabases {
  database: Database;
  authDatabase: Database;
}

const current = new AsyncLocalStorage<RequestDatabases>();

/** Runs fn (and everything it starts) with these as the request's databases. */
export function withRequestDatabases<T>(databases: RequestDatabases, fn: () => T): T {
  return current.run(databases, fn);
}

/** A Database that is, at every use, the current request's `which`. */
export function requestDatabase(which: keyof RequestDatabases): Database {
  const here = () => {
    const databases = current.getStore();
    if (!databases) throw new Error(`the ${which} was used outside a request: at the edge its clients live for one request`);
    return databases[which];
  };
  return {
    // Kept by whoever reads them (Better Auth keeps the drizzle instance it is
    // given at start), so these forward too instead of being the first request's.
    sql: forwarding(() => here().sql, () => {}),
    db: forwarding(() => here().db, {}),
    withTenant: (orgId, fn) => here().withTenant(orgId, fn),
    withTenantMember: (orgId, userId, fn) => here().withTenantMember(orgId, userId, fn),
    withTenantKey: (keyHash, fn) => here().withTenantKey(keyHash, fn),
    withWidgetKey: (publicKey, fn) => here().withWidgetKey(publicKey, fn),
    stats: () => here().stats(),
    close: () => here().close(),
  };
}
