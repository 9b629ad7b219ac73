import { createRoute, z } from '@hono/zod-openapi';
import { and, lt, sql } from 'drizzle-orm';
import { RECORD_COLUMNS, toRecord, type RecordRow } from '../../../db/audit/read.ts';
import { auditLog } from '../../../db/schema/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { auditFilterSchema, auditRecordSchema, filterSql } from '../schemas.ts';

export const listAuditQuery = auditFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ example: 100 }),
  cursor: z.string().regex(/^\d{1,18}$/, 'the nextCursor of the previous page').optional(),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/audit-log',
  tags: ['audit'],
  summary: "The organization's audit log, newest first, with filters",
  request: { query: listAuditQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(auditRecordSchema), nextCursor: z.string().nullable() }).openapi('AuditPage'), 'A page of audit rows.'),
    ...commonErrors,
  },
});

export function registerListAuditLog(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { limit, cursor, ...filter } = c.req.valid('query');
    const where = and(filterSql(filter), cursor ? lt(auditLog.seq, Number(cursor)) : undefined);
    const rows = await c.var.tx.execute<RecordRow>(
      sql`select ${RECORD_COLUMNS} from audit_log where ${where} order by seq desc limit ${limit + 1}`,
    );
    const data = rows.slice(0, limit).map(toRecord);
    return c.json({ data, nextCursor: rows.length > limit ? String(data.at(-1)!.seq) : null }, 200);
  });
}
