import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { jsonLine } from '../../../db/audit/chain.ts';
import { postgresTransaction, RECORD_COLUMNS, type RecordRow } from '../../../db/audit/read.ts';
import { auditChainHeads } from '../../../db/schema/audit.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors } from '../../../middleware/openapi.ts';
import { AccessGone, callerTransactions } from '../../../middleware/tenant-transaction.ts';
import { auditFilterSchema, filterSql } from '../schemas.ts';

/**
 * Rows per page (one short transaction each), and at most about PAGE_BYTES of
 * data per page: a page is queued whole however slowly the client reads, and
 * rows of large snapshots (an article's body before and after) would otherwise
 * make a page of hundreds of megabytes. Characters per chunk written: small
 * enough to die young.
 */
const PAGE = 1000;
const PAGE_BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;
const dialect = new PgDialect();
const CSV_COLUMNS = ['org_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'action', 'target_type', 'target_id', 'request_id', 'ip', 'data', 'prev_hash', 'hash'] as const;

export const exportQuery = auditFilterSchema.extend({ format: z.enum(['jsonl', 'csv']).default('jsonl').openapi({ example: 'jsonl' }) });

export const route = createRoute({
  method: 'get',
  path: '/v1/audit-log/export',
  tags: ['audit'],
  summary: 'Export the audit log (JSON Lines or CSV), streamed; every row carries seq, prev_hash and hash',
  description:
    'A JSON Lines export without filters verifies offline with `npx kommit-audit verify <file> --checkpoint <a checkpoint you kept> --public-key <key>` (without them it is only internally consistent). CSV is for spreadsheets: ' +
    'it has the same columns and hashes, but an empty cell stands for both null and an empty string, so the verifier does not read it. ' +
    'Exporting is itself audited. ' +
    'Every page of the stream checks the credential again: if the API key is revoked or the member removed during the export, ' +
    'the response is aborted (the body never completes), so a cut-off export cannot pass for a whole one.',
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

function csvLine(r: RecordRow) {
  let line = csvCell(r.org_id);
  for (let i = 1; i < CSV_COLUMNS.length; i++) {
    const column = CSV_COLUMNS[i]!;
    line += `,${csvCell(column === 'seq' ? Number(r.seq) : r[column])}`;
  }
  return `${line}\n`;
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
    const { logger } = c.get('platform');
    const requestId = c.get('requestId');
    const asCaller = callerTransactions(c);
    const where = filterSql(filter);
    const line = format === 'csv' ? csvLine : jsonLine;
    // No lower bound on the first page: a row forged at seq 0 or below is exported too, and fails offline verification.
    let after: number | null = null;
    let headerSent = false;

    // Each page is read in a short tenant transaction of its own when the client
    // asks for more, so no transaction stays open for the length of a download.
    // Each one enters as the caller, checking the key or membership again: a
    // caller who lost access mid-export reads no further page.
    // Memory stays flat because nothing outlives a page: pages are small, and
    // rows go out in chunks of about CHUNK bytes, each a short string encoded
    // once, so V8 collects them young instead of promoting megabyte strings.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (format === 'csv' && !headerSent) {
          headerSent = true;
          controller.enqueue(Buffer.from(`${CSV_COLUMNS.join(',')}\n`));
          return;
        }
        // Rows are written out as postgres.js parses them (forEach keeps no
        // result array), so none outlives its own line.
        // The first row always comes, so every page moves on.
        const page = dialect.sqlToQuery(sql`
          select ${RECORD_COLUMNS} from (
            select *, sum(bytes) over (order by seq) - bytes as bytes_before from (
              select *, octet_length(data::text) as bytes from audit_log
              where ${after === null ? sql`true` : sql`seq > ${after}`} and seq <= ${upTo} and ${where} order by seq limit ${PAGE}
            ) as page
          ) as audit_log
          where bytes_before < ${PAGE_BYTES} order by seq`);
        let rows = 0;
        let text = '';
        const read = await asCaller((tx) =>
          postgresTransaction(tx)
            .unsafe<RecordRow[]>(page.sql, page.params as never[])
            .forEach((row) => {
              rows++;
              after = Number(row.seq);
              text += line(row);
              if (text.length >= CHUNK) {
                controller.enqueue(Buffer.from(text));
                text = '';
              }
            }),
        );
        if (read instanceof AccessGone) {
          // Erroring the stream aborts the response before its end (no last
          // chunk): the client sees a failed download, not a shorter file that
          // looks complete. Neither format has room for an end marker that the
          // offline verifier or a CSV reader would not take for a row.
          logger.warn({ reqId: requestId, orgId, after }, 'audit export aborted: the caller lost access to the organization');
          controller.error(new Error('the caller lost access to the organization during the export'));
          return;
        }
        if (text) controller.enqueue(Buffer.from(text));
        if (rows === 0) controller.close();
      },
      // No page before the client reads: a stream fills its queue as soon as it
      // is made, which is before the request's transaction (with this export's
      // own row) has committed; the first page could then miss that row.
    }, { highWaterMark: 0 });
    const filename = `kommit-audit-${orgId}.${format}`;
    return c.body(body, 200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'content-disposition': `attachment; filename="${filename}"`,
    }) as never;
  });
}
