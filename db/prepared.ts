import type postgres from 'postgres';

type Client = postgres.Sql | postgres.TransactionSql;

const MAX_PREPARED_PARAMETERS = 64;

/**
 * The postgres.js client drizzle is given. Drizzle runs every query through
 * `unsafe(text, params, { prepare: false })`; postgres.js then has to learn the
 * parameter types first, so each statement with parameters costs two round
 * trips (Parse/Describe, wait, then Bind/Execute), every time. Asking for a
 * named prepared statement instead lets postgres.js describe a statement once
 * per connection and afterwards send Bind/Execute alone: one round trip, and no
 * parse or plan on the server.
 *
 * Only statements with parameters are prepared: they are the ones that pay the
 * extra round trip, and their text is a query's shape (values are bound), so
 * the per-connection statement cache stays as small as the set of shapes. Past
 * MAX_PREPARED_PARAMETERS the shape is usually one of many (a multi-row insert,
 * a long IN list) and would only fill that cache: those go unnamed, as before.
 * Transactions and savepoints hand drizzle a fresh client, so those are
 * wrapped the same way.
 */
export function preparingStatements<T extends Client>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (text: string, params?: postgres.ParameterOrJSON<never>[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(text, params, params?.length && params.length <= MAX_PREPARED_PARAMETERS ? { ...options, prepare: true } : options);
      }
      if (property === 'begin') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (target as postgres.Sql).begin(...(args as [string]), (tx) => fn(preparingStatements(tx)));
        };
      }
      if (property === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (target as postgres.TransactionSql).savepoint(...(args as [string]), (tx) => fn(preparingStatements(tx)));
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
