import { AsyncLocalStorage } from 'node:async_hooks';
import { createAdmission } from '../db/admission.ts';
import { forwarding } from '../db/forwarding.ts';
import type { Db, Tx } from '../db/tenant.ts';

/**
 * Better Auth keeps the drizzle instance it is given at start and writes
 * through it one statement at a time (its adapter runs without transactions).
 * Given `db` from here instead, everything one call into it does, its hooks'
 * statements and the audit rows they append included, can be made one
 * transaction: inside `together`, every statement goes to that transaction
 * (Better Auth's own nested transactions become savepoints); outside, to the
 * pool as before.
 */
export interface IdentityTransactions {
  db: Db;
  /**
   * Runs fn in one transaction, or in the caller's if already inside one. It
   * commits when fn returns, unless `refused` says the result is a refusal (an
   * error response): then it rolls back and the result is still returned.
   */
  together<T>(fn: () => Promise<T>, refused?: (result: T) => boolean): Promise<T>;
  /** The transaction of the `together` this runs in, if any. */
  current(): Tx | undefined;
  /** Runs fn once the current `together` has committed (never if it rolls back); nothing outside one. */
  afterCommit(fn: () => void): void;
}

/** Carries a refused result out of drizzle's transaction, which rolls back on a throw. */
class Refusal {
  constructor(readonly result: unknown) {}
}

export interface IdentityTransactionOptions {
  /**
   * How many may run at once. Each holds one of the pool's connections for its
   * whole run, lock waits included; kept below the pool's size, so the session
   * lookups every request makes always find a connection. Unlimited when unset.
   */
  slots?: number;
  /** How long one waits for a slot before failing with DatabaseBusyError (answered 503; default 2000 ms). */
  queueTimeoutMs?: number;
}

export function identityTransactions(base: Db, options: IdentityTransactionOptions = {}): IdentityTransactions {
  const store = new AsyncLocalStorage<{ tx: Tx; committed: (() => void)[] }>();
  const admission = createAdmission(options.slots ?? Number.POSITIVE_INFINITY, options.queueTimeoutMs ?? 2000);
  return {
    db: forwarding<Db>(() => (store.getStore()?.tx as Db | undefined) ?? base, {}),
    current: () => store.getStore()?.tx,
    afterCommit: (fn) => void store.getStore()?.committed.push(fn),
    async together(fn, refused) {
      if (store.getStore()) return fn();
      const committed: (() => void)[] = [];
      try {
        const result = await admission.run(() =>
          base.transaction((tx) =>
            store.run({ tx, committed }, async () => {
              const result = await fn();
              if (refused?.(result)) throw new Refusal(result);
              return result;
            }),
          ),
        );
        for (const then of committed) then();
        return result;
      } catch (error) {
        if (error instanceof Refusal) return error.result as Awaited<ReturnType<typeof fn>>;
        throw error;
      }
    },
  };
}
