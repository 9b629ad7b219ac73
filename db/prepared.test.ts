import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { preparingStatements } from './prepared.ts';

// Never connects: postgres.js queries are lazy until awaited; these only look at how they would be sent.
const sql = postgres('postgres://nobody@127.0.0.1:1/none', { max: 1 });
afterAll(() => sql.end({ timeout: 0 }));

type Inspectable = { options: { prepare?: boolean } };
const sentAs = (query: unknown) => (query as Inspectable).options.prepare;

describe('preparingStatements', () => {
  const client = preparingStatements(sql);

  it('asks for a named prepared statement when the statement has parameters (what drizzle sends unnamed)', () => {
    expect(sentAs(client.unsafe('select $1::int', [1], { prepare: false }))).toBe(true);
  });

  it('leaves statements without parameters, and shapes with very many, as drizzle asked', () => {
    expect(sentAs(client.unsafe('select 1', [], { prepare: false }))).toBe(false);
    const many = Array.from({ length: 65 }, (_, i) => i);
    expect(sentAs(client.unsafe(`select ${many.map((i) => `$${i + 1}::int`).join(', ')}`, many, { prepare: false }))).toBe(false);
  });

  it('keeps everything else of the client', () => {
    expect(client.options).toBe(sql.options);
    expect(typeof client.begin).toBe('function');
  });
});
