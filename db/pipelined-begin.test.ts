import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';

/**
 * The postgres.js patch behind withTenant's single round trip: begin({ pipeline: true })
 * sends the first statement behind BEGIN. These pin down what it must keep from
 * an ordinary begin.
 */
type PipelinedBegin = <T>(options: { pipeline: true; mode?: string }, fn: (sql: postgres.TransactionSql) => Promise<T>) => Promise<T>;

let db: TestDatabase;
let begin: PipelinedBegin;

beforeAll(async () => {
  db = await createTestDatabase();
  begin = db.app.sql.begin as unknown as PipelinedBegin;
});
afterAll(() => db.close());

describe('begin({ pipeline: true })', () => {
  it('runs the first statement inside the transaction', async () => {
    const [first, second] = await begin({ pipeline: true }, async (sql) => {
      const [a] = await sql`select txid_current() as id`;
      const [b] = await sql`select txid_current() as id`;
      return [a!, b!];
    });
    expect(first.id).toBe(second.id);
  });

  it('keeps the transaction-local setting for the statements that follow, and not after', async () => {
    const seen = await begin({ pipeline: true }, async (sql) => {
      await sql`select set_config('app.current_org_id', ${'00000000-0000-0000-0000-000000000001'}, true)`;
      const [row] = await sql`select current_setting('app.current_org_id', true) as org`;
      return row!.org;
    });
    expect(seen).toBe('00000000-0000-0000-0000-000000000001');
    const rows = await Promise.all(Array.from({ length: 5 }, () => db.app.sql`select coalesce(current_setting('app.current_org_id', true), '') as org`));
    for (const [row] of rows) expect(row!.org).toBe('');
  });

  it('rolls back when the callback throws', async () => {
    await db.admin.sql`create table if not exists pipelined_probe (n int)`;
    await db.admin.sql`grant select, insert on pipelined_probe to kommit_app`;
    await expect(
      begin({ pipeline: true }, async (sql) => {
        await sql`insert into pipelined_probe values (1)`;
        throw new Error('handler failed');
      }),
    ).rejects.toThrow('handler failed');
    const [row] = await db.app.sql`select count(*)::int as n from pipelined_probe`;
    expect(row!.n).toBe(0);
  });

  it('refuses every statement after the first when BEGIN itself failed, and fails the transaction', async () => {
    const after: string[] = [];
    // An invalid mode makes BEGIN a syntax error while the first statement is already sent.
    const result = begin({ pipeline: true, mode: 'isolation level nonsense' }, async (sql) => {
      await sql`select 1`;
      await sql`select 2`.then(
        () => after.push('ran'),
        () => after.push('refused'),
      );
      return 'done';
    });
    await expect(result).rejects.toMatchObject({ code: '42601' });
    expect(after).toEqual(['refused']);
    // No connection was left inside a transaction, and the whole pool still serves.
    const [row] = await db.admin.sql`select count(*)::int as n from pg_stat_activity where usename = 'kommit_app' and state like 'idle in transaction%'`;
    expect(row!.n).toBe(0);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => db.app.sql`select ${i}::int as i`));
    expect(answers.map(([r]) => r!.i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
