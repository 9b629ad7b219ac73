import { sql as dsql } from 'drizzle-orm';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { createAdmission } from './admission.ts';
import { connect, type ConnectOptions, type Sql } from './connection.ts';
import * as schema from './schema/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  sql: Sql;
  db: Db;
  /**
   * Runs fn in a transaction whose tenant context is orgId. The setting is
   * transaction-local and set through a bind parameter before anything else
   * runs, so row-level security filters every statement fn makes.
   */
  withTenant<T>(orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * withTenant for a signed-in user: the same first statement also finds the
   * user's membership in orgId and share-locks it until the transaction ends
   * (kommit_enter_tenant). fn gets the role, or null for a non-member, in
   * which case no tenant context was set and the transaction sees no tenant rows.
   */
  withTenantMember<T>(orgId: string, userId: string, fn: (tx: Tx, role: string | null) => Promise<T>): Promise<T>;
  /**
   * withTenant for an API key: the first statement resolves the key (by its
   * SHA-256) and enters its organization (kommit_enter_tenant_with_key). fn gets
   * the key's organization and id, or null for an unknown or revoked key, in
   * which case no tenant context was set.
   */
  withTenantKey<T>(keyHash: Buffer, fn: (tx: Tx, key: { orgId: string; keyId: string } | null) => Promise<T>): Promise<T>;
  /** Transactions running and waiting for a connection. */
  stats(): { active: number; waiting: number; capacity: number };
  /**
   * withTenant for a chat widget's visitor: the first statement resolves the
   * public widget key and enters its organization (kommit_enter_widget). fn
   * gets the organization, or null for an unknown or disabled key, in which
   * case no tenant context was set.
   */
  withWidgetKey<T>(publicKey: string, fn: (tx: Tx, orgId: string | null) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions extends ConnectOptions {
  /** How long a transaction may wait for a free connection before failing with DatabaseBusyError (default 2000 ms). */
  queueTimeoutMs?: number;
}

export function createDatabase(databaseUrl: string, options: DatabaseOptions = {}): Database {
  const sql = connect(databaseUrl, options);
  const db = drizzle(sql, { schema });
  const admission = createAdmission(options.max ?? 10, options.queueTimeoutMs ?? 2000);
  const transaction = <T>(fn: (tx: Tx) => Promise<T>) => admission.run(() => db.transaction(fn));
  return {
    sql,
    db,
    withTenant: (orgId, fn) => {
      // A malformed id would make every policy's ::uuid cast raise mid-request.
      if (!UUID.test(orgId)) return Promise.reject(new Error('withTenant needs an organization uuid'));
      return transaction(async (tx) => {
        await tx.execute(dsql`select set_config('app.current_org_id', ${orgId}, true)`);
        return fn(tx);
      });
    },
    withTenantMember: (orgId, userId, fn) => {
      if (!UUID.test(orgId) || !UUID.test(userId)) return Promise.reject(new Error('withTenantMember needs uuids'));
      return transaction(async (tx) => {
        const [row] = await tx.execute<{ role: string | null }>(dsql`select kommit_enter_tenant(${orgId}, ${userId}) as role`);
        return fn(tx, row?.role ?? null);
      });
    },
    withTenantKey: (keyHash, fn) =>
      transaction(async (tx) => {
        const [row] = await tx.execute<{ org_id: string; key_id: string }>(dsql`select org_id, key_id from kommit_enter_tenant_with_key(${keyHash})`);
        return fn(tx, row ? { orgId: row.org_id, keyId: row.key_id } : null);
      }),
    stats: admission.stats,
    withWidgetKey: (publicKey, fn) =>
      transaction(async (tx) => {
        const [row] = await tx.execute<{ org_id: string | null }>(dsql`select kommit_enter_widget(${publicKey}) as org_id`);
        return fn(tx, row?.org_id ?? null);
      }),
    close: () => sql.end({ timeout: 5 }),
  };
}
