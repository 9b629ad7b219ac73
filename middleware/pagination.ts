import { z } from '@hono/zod-openapi';
import { sql, type AnyColumn } from 'drizzle-orm';
import { ApiError } from './errors.ts';

/**
 * Keyset pagination over (created_at, id), newest first. The cursor is opaque to
 * clients; inside it is the last row's microsecond timestamp and id.
 */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ example: 50 }),
  cursor: z.string().max(200).optional().openapi({ description: 'The nextCursor of the previous page.' }),
});

export interface Cursor {
  createdAt: string;
  id: string;
}

// A row's created_at as the API gives it (2026-11-26T08:00:00.123456Z), or as
// cursors issued before it did so carried it (2026-11-26 08:00:00.123456+00).
const TIMESTAMP = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d(:\d\d)?)$/;
const cursorSchema = z.tuple([z.string().regex(TIMESTAMP), z.uuid()]);

export function encodeCursor(row: Cursor) {
  return Buffer.from(JSON.stringify([row.createdAt, row.id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [createdAt, id] = cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (Number.isNaN(Date.parse(createdAt.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))) throw new Error('not a time');
    return { createdAt, id };
  } catch {
    throw new ApiError('invalid_request', 'The cursor is not one this API issued.', {
      errors: [{ path: 'query.cursor', message: 'invalid cursor' }],
    });
  }
}

/** Given limit+1 rows, the page and the cursor for the next one. */
export function page<T extends Cursor>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

/**
 * ORDER BY for a newest-first list: each column DESC NULLS LAST, as the
 * indexes are built (drizzle writes an index's .desc() so). A plain DESC means
 * NULLS FIRST, which no such index serves: Postgres would read and sort every
 * row the filters match for each page. The columns are NOT NULL, so the order
 * is the same either way.
 */
export function newestFirst(...columns: AnyColumn[]) {
  return columns.map((column) => sql`${column} desc nulls last`);
}

/** The keyset condition "strictly after the cursor" for a newest-first (created_at, id) order. */
export function beforeCursor(createdAt: AnyColumn, id: AnyColumn, after: Cursor | undefined) {
  return after ? sql`(${createdAt}, ${id}) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : undefined;
}
