import { expect } from 'vitest';

/** The Postgres error behind a drizzle query error (drizzle wraps it as `cause`). */
export function postgresError(error: unknown): { code?: string; message: string } {
  let current = error as { cause?: unknown; code?: string; message: string };
  while (current && !current.code && current.cause) current = current.cause as typeof current;
  return current;
}

/** Asserts the promise fails with a row-level security violation (SQLSTATE 42501). */
export async function expectRlsViolation(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the write to be refused by row-level security').toBeDefined();
  const pg = postgresError(error);
  expect(pg.code).toBe('42501');
  expect(pg.message).toMatch(/row-level security/);
}

/** A problem answer without its instance (the request id), to compare two answers' every other word. */
export function withoutInstance(problem: Record<string, unknown>) {
  const { instance: _instance, ...rest } = problem;
  return rest;
}
