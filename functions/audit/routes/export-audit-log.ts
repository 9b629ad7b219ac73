import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { RECORD_COLUMNS, toRecord, type RecordRow } from '../../../db/audit/read.ts';
import { auditChainHeads } from '../../../db/schema/audit.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors } from '../../../middleware/openapi.ts';
import { auditFilterSchema, filterSql } from '../schemas.ts';

const PAGE = 5000;
const CSV_COLUMNS = ['org_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'request_id', 'ip', 'data', 'prev_hash', 'hash'] as const;

export const exportQuery = auditFilterSchema.extend({ format: z.enum(['jsonl', 'csv']).default('jsonl') });

export const route = createRoute({
  method: 'get',
  path: '/v1/audit-log/export',
  tags: ['audit'],
  summary: 'Export the audit log (JSON Lines or CSV), streamed; every row carries seq, prev_hash and hash',
  description: 'An export without filters verifies offline with `npx kommit-audit verify <file>`. Exporting is itself audited.',
  request: { query: exportQuery },
  responses: {
    200: {
      description: 'The rows in seq order.',
      content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
    },
    ...commonErrors,
  },
});

function csvCell(value: unknown) {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function registerExportAuditLog(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { format, ...filter } = c.req.valid('query');
    const orgId = c.var.org.id;
    // The export is a consistent prefix: everything up to the head as of now,
    // including the row recording this export.
    await audit(c, { action: 'audit.export', targetType: 'audit_log', data: { format, filter } });
    const [head] = await c.var.tx.select({ seq: auditChainHeads.seq }).from(auditChainHeads);
    const upTo = head?.seq ?? 0;
    const { database } = c.get('platform');
    const where = filterSql(filter);
    const encoder = new TextEncoder();
    let after = 0;
    let headerSent = false;

    // Each page is read in a short tenant transaction of its own when the client
    // asks for more, so memory stays constant and no transaction stays open
    // for the length of a download.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (format === 'csv' && !headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(`${CSV_COLUMNS.join(',')}\n`));
          return;
        }
        const rows = await database.withTenant(orgId, (tx) =>
          tx.execute<RecordRow>(
            sql`select ${RECORD_COLUMNS} from audit_log where seq > ${after} and seq <= ${upTo} and ${where} order by seq limit ${PAGE}`,
          ),
        );
        if (rows.length === 0) return controller.close();
        const records = rows.map(toRecord);
        after = records.at(-1)!.seq;
        const text =
          format === 'csv'
            ? records.map((r) => CSV_COLUMNS.map((column) => csvCell(r[column])).join(',')).join('\n') + '\n'
            : records.map((r) => JSON.stringify(r)).join('\n') + '\n';
        controller.enqueue(encoder.encode(text));
      },
    });
    const filename = `kommit-audit-${orgId}.${format}`;
    return c.body(body, 200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'content-disposition': `attachment; filename="${filename}"`,
    }) as never;
  });
}
