import { sql, type SQL } from 'drizzle-orm';
import { drizzle, PostgresJsSession, PostgresJsTransaction, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { createAdmission } from './admission.ts';
import { connect, type ConnectOptions, type Sql } from './connection.ts';
import { preparingStatements } from './prepared.ts';
import * as schema from './schema/index.ts';
import { rfc3339, TIMESTAMPTZ_OID } from './timestamps.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether value is a uuid in its text form (any letter case). */
export const isUuid = (value: string) => UUID.test(value);

export type Db = PostgresJsDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Sets the tenant context inside a transaction opened some other way than
 * withTenant* (Better Auth's, on its own role): row-level security filters on
 * orgId from here until the transaction ends.
 */
export async function setTenantContext(tx: Db | Tx, orgId: string) {
  if (!isUuid(orgId)) throw new Error('a tenant context needs an organization uuid');
  await tx.execute(sql`select set_config('app.current_org_id', ${orgId}, true)`);
}

/** What a withTenant* transaction keeps for sendAhead and afterCommit. */
interface Pipeline {
  client: postgres.TransactionSql;
  dialect: PostgresJsSession<Sql, never, never>['dialect'];
  sent: Promise<unknown>[];
  committed: (() => Promise<void>)[];
  /** Set once the transaction's callback has returned: nothing may be sent on its client after that. */
  ended: boolean;
  /** The first statement sent ahead that failed. */
  failure?: unknown;
}
const pipelines = new WeakMap<Tx, Pipeline>();

/**
 * Sends a statement of tx now, without waiting for its answer (which comes with
 * the answer to COMMIT): for a statement whose result the caller does not need
 * before the transaction ends, such as the audit append (db/audit/emit.ts).
 *
 * - Order: the statement is handed to the transaction's connection before this
 *   returns, so it runs before any statement the caller makes afterwards, and
 *   before COMMIT.
 * - Failing closed: if it fails, Postgres aborts the transaction, so every later
 *   statement fails and COMMIT becomes a rollback; withTenant* then rejects with
 *   its error instead of resolving.
 *
 * Returns undefined for a transaction not made by withTenant* (a savepoint, for
 * one): the caller then runs the statement the ordinary way.
 */
export function sendAhead<Row extends Record<string, unknown>>(tx: Tx, query: SQL): Promise<Row[]> | undefined {
  const pipeline = pipelines.get(tx);
  if (!pipeline) return undefined;
  // postgres.js would run it on the connection after it went back to the pool.
  if (pipeline.ended) throw new Error('sendAhead on a transaction that has ended');
  const { sql: text, params } = pipeline.dialect.sqlToQuery(query);
  const sent = pipeline.client.unsafe<Row[]>(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }).execute();
  // Seen by withTenant* after COMMIT; until then its failure is nobody's unhandled rejection.
  sent.catch((error: unknown) => void (pipeline.failure ??= error));
  pipeline.sent.push(sent);
  return sent;
}

/**
 * The error of a statement sent ahead in tx that failed, if one did. Every
 * statement after it then fails only with "current transaction is aborted"
 * (25P02); this is the cause to answer for.
 */
export function failedAhead(tx: Tx): unknown {
  return pipelines.get(tx)?.failure;
}

/**
 * Runs fn once tx has committed (and only then), before withTenant* resolves,
 * outside the transaction and without holding its connection. Returns false
 * for a transaction not made by withTenant*.
 */
export function afterCommit(tx: Tx, fn: () => Promise<void>): boolean {
  const pipeline = pipelines.get(tx);
  pipeline?.committed.push(fn);
  return !!pipeline;
}

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
  const db = drizzle(preparingStatements(sql), { schema });
  // drizzle has just made timestamps come through as Postgres' text; every
  // timestamp read through this client (drizzle or raw) leaves it as RFC 3339.
  sql.options.parsers[TIMESTAMPTZ_OID] = rfc3339;
  const admission = createAdmission(options.max ?? 10, options.queueTimeoutMs ?? 2000);
  // What drizzle's own transaction() builds a transaction from (its dialect, schema and session options).
  const base = db._.session as unknown as { dialect: PostgresJsSession<Sql, never, never>['dialect']; schema: never; options: never };

  /**
   * A transaction whose first statement enters the tenant. BEGIN and that
   * statement go out together (postgres.js patched: begin({ pipeline: true })),
   * so entering costs one round trip, not two; the statement is ours and only
   * reads and sets the transaction-local context, so even if BEGIN had failed it
   * would have changed nothing, and postgres.js refuses every later statement.
   * fn only runs once both have answered.
   */
  async function enterTenant<Row extends postgres.Row, T>(enter: (client: postgres.TransactionSql) => postgres.PendingQuery<Row[]>, fn: (tx: Tx, rows: Row[]) => Promise<T>) {
    let pipeline: Pipeline | undefined;
    const result = await admission.run(() =>
      (sql.begin as unknown as PipelinedBegin)({ pipeline: true }, async (client) => {
        const rows = await enter(client);
        // As drizzle's PostgresJsSession.transaction does, on the client postgres.js gave this transaction.
        // (Its typings say Sql where the code takes a transaction's client.)
        const session = new PostgresJsSession(preparingStatements(client) as unknown as Sql, base.dialect, base.schema, base.options);
        const tx = new TenantTransaction(base.dialect, session as never, undefined) as unknown as Tx;
        const current: Pipeline = (pipeline = { client, dialect: base.dialect, sent: [], committed: [], ended: false });
        pipelines.set(tx, current);
        try {
          return await fn(tx, rows);
        } finally {
          current.ended = true;
        }
      }),
    );
    if (pipeline) {
      // COMMIT has answered. Had a statement sent ahead failed, it was a rollback: fail.
      await Promise.all(pipeline.sent);
      for (const committed of pipeline.committed) await committed();
    }
    return result;
  }

  return {
    sql,
    db,
    withTenant: (orgId, fn) => {
      // A malformed id would make every policy's ::uuid cast raise mid-request.
      if (!isUuid(orgId)) return Promise.reject(new Error('withTenant needs an organization uuid'));
      return enterTenant((t) => t`select set_config('app.current_org_id', ${orgId}, true)`, (tx) => fn(tx));
    },
    withTenantMember: (orgId, userId, fn) => {
      if (!isUuid(orgId) || !isUuid(userId)) return Promise.reject(new Error('withTenantMember needs uuids'));
      return enterTenant(
        (t) => t<{ role: string | null }[]>`select kommit_enter_tenant(${orgId}, ${userId}) as role`,
        (tx, [row]) => fn(tx, row?.role ?? null),
      );
    },
    withTenantKey: (keyHash, fn) =>
      enterTenant(
        (t) => t<{ org_id: string; key_id: string }[]>`select org_id, key_id from kommit_enter_tenant_with_key(${keyHash})`,
        (tx, [row]) => fn(tx, row ? { orgId: row.org_id, keyId: row.key_id } : null),
      ),
    stats: admission.stats,
    withWidgetKey: (publicKey, fn) =>
      enterTenant(
        (t) => t<{ org_id: string | null }[]>`select kommit_enter_widget(${publicKey}) as org_id`,
        (tx, [row]) => fn(tx, row?.org_id ?? null),
      ),
    close: () => sql.end({ timeout: 5 }),
  };
}

/**
 * Drizzle's transaction without its relational query builders: given the
 * schema, drizzle makes one per table (27 of them) for every transaction, for
 * `tx.query.<table>.findMany()`, which nothing here uses. Asking for one says so.
 */
class TenantTransaction extends PostgresJsTransaction<never, never> {}
Object.defineProperty(TenantTransaction.prototype, 'query', {
  get() {
    throw new Error('tx.query (drizzle relational queries) is not available in tenant transactions; use tx.select()');
  },
  // drizzle's constructor assigns an empty one; there is nothing to keep.
  set() {},
});

/** postgres.js begin with the Kommit patch's pipeline option (patches/postgres+3.4.9.patch). */
type PipelinedBegin = <T>(options: { pipeline: true }, fn: (client: postgres.TransactionSql) => Promise<T>) => Promise<T>;
