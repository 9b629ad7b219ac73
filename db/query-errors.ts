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
