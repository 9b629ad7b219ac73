import type { PendingQuery, ReservedSql, Row } from 'postgres';
import type { TestDatabase } from './database.ts';

/** The advisory lock (both keys) an insert slowed by withSlowInserts holds while it sleeps. */
const MARKER = 4242;

/**
 * Runs fn while every insert into `table` first sleeps `seconds` (a BEFORE
 * INSERT trigger, dropped afterwards): it holds a race's window open, so a
 * lock order can be tested instead of hoped for. fn gets `sleeping()`, which
 * resolves once some insert is asleep in the trigger.
 */
export async function withSlowInserts<T>(db: TestDatabase, table: string, seconds: number, fn: (sleeping: () => Promise<void>) => Promise<T>): Promise<T> {
  const name = `kommit_test_slow_${table}`;
  // The sleeper also takes a marker lock: pg_locks shows it whatever role sleeps
  // (pg_stat_activity shows beheerder only its own sessions' waits).
  await db.admin.sql.unsafe(`
    create function ${name}() returns trigger language plpgsql as $$
    begin perform pg_advisory_xact_lock_shared(${MARKER}, ${MARKER}); perform pg_sleep(${seconds}); return new; end $$;
    create trigger ${name} before insert on ${table} for each row execute function ${name}();`);
  const sleeping = async () => {
    for (let tries = 0; tries < 500; tries++) {
      const [asleep] = await db.admin.sql`
        select 1 from pg_locks where locktype = 'advisory' and classid = ${MARKER} and objid = ${MARKER} and objsubid = 2 and granted
          and database = (select oid from pg_database where datname = current_database()) limit 1`;
      if (asleep) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no insert into ${table} fell asleep within 5 s`);
  };
  try {
    return await fn(sleeping);
  } finally {
    await db.admin.sql.unsafe(`drop trigger ${name} on ${table}; drop function ${name}();`);
  }
}

/**
 * Resolves once `sessions` sessions (one unless told) of this test database
 * wait for a lock (any kind). pg_locks, not pg_stat_activity: beheerder may
 * not see what another role's session waits on, but sees every session's database.
 */
export async function someoneWaitsForALock(db: TestDatabase, sessions = 1) {
  for (let tries = 0; tries < 500; tries++) {
    const [row] = await db.admin.sql<{ waiting: number }[]>`
      select count(distinct l.pid)::int as waiting from pg_locks l join pg_stat_activity a on a.pid = l.pid where not l.granted and a.datname = current_database()`;
    if (row!.waiting >= sessions) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${sessions === 1 ? 'no session' : `fewer than ${sessions} sessions`} waited for a lock within 5 s`);
}

/**
 * Holds a row lock in a transaction of beheerder's (in the organization, for
 * row-level security, when `orgId` is given) while fn starts what is to wait
 * for it; fn calls `release()` to commit and let them go on. A lock never
 * released (fn failed first) is rolled back.
 */
export async function whileLocked<T>(db: TestDatabase, lock: { orgId?: string; rows: (held: ReservedSql) => PendingQuery<Row[]> }, fn: (release: () => Promise<void>) => Promise<T>): Promise<T> {
  const held = await db.admin.sql.reserve();
  let open = true;
  try {
    await held`begin`;
    if (lock.orgId) await held`select set_config('app.current_org_id', ${lock.orgId}, true)`;
    await lock.rows(held);
    return await fn(async () => {
      open = false;
      await held`commit`;
    });
  } finally {
    if (open) await held`rollback`.catch(() => {});
    held.release();
  }
}
