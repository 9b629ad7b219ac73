import { DrizzleQueryError } from 'drizzle-orm/errors';

/**
 * What went wrong, in the database's own words. Drizzle wraps a failed
 * statement's error in one whose message carries the query text and its
 * parameters (an article's content, a delivery's body), over several lines:
 * not for logs, stored errors or an operator's terminal.
 */
export function reasonOf(error: unknown): string {
  if (error instanceof DrizzleQueryError && error.cause instanceof Error) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** The constraint a Postgres error names (a unique index, a check, a trigger's RAISE ... CONSTRAINT), also when wrapped. */
export function constraintOf(error: unknown): string | undefined {
  for (let current = error as { constraint_name?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    if (typeof current.constraint_name === 'string') return current.constraint_name;
  }
  return undefined;
}

/** The SQLSTATE of a Postgres error, also when wrapped (drizzle puts it in `cause`). */
export function sqlStateOf(error: unknown): string | undefined {
  for (let current = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; current && depth < 5; current = current.cause as typeof current, depth++) {
    if (typeof current.code === 'string' && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
  }
  return undefined;
}

/**
 * Whether the input itself is at fault, so the same input fails the same way
 * every time: Postgres refused a value (SQLSTATE class 22, data exception: a
 * NUL character, an impossible date), or a structure was nested too deep for
 * Postgres (54001) or for JavaScript's stack.
 */
export function isDataError(error: unknown): boolean {
  const state = sqlStateOf(error);
  if (state?.startsWith('22') || state === '54001') return true;
  return error instanceof RangeError && /call stack/i.test(error.message);
}
