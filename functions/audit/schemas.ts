import { z } from '@hono/zod-openapi';
import { and, eq, gte, lte, sql, type SQL } from 'drizzle-orm';
import { auditLog } from '../../db/schema/audit.ts';
import { dateTimeSchema } from '../../middleware/openapi.ts';

// Strict: a misspelt filter (target= for targetId=) must not silently return the unfiltered log.
export const auditFilterSchema = z.strictObject({
  actor: z.string().min(1).max(200).optional().openapi({ description: 'Actor id (user id or API key id).', example: '5f0c1d2e-8a7b-4c3d-9e1f-2a3b4c5d6e7f' }),
  action: z.string().regex(/^[a-z_]+(\.[a-z_]+)*$/, 'a dotted action name such as project.create').max(100).optional().openapi({ example: 'project.create' }),
  targetType: z.string().max(100).optional().openapi({ example: 'project' }),
  targetId: z.string().max(200).optional().openapi({ example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
  from: dateTimeSchema().optional().openapi({ example: '2026-11-01T00:00:00Z' }),
  to: dateTimeSchema().optional().openapi({ example: '2026-12-01T00:00:00Z' }),
});

export type AuditFilter = z.infer<typeof auditFilterSchema>;

/** The filter as SQL over audit_log; tenant scoping is row-level security's job. */
export function filterSql(filter: AuditFilter): SQL {
  return (
    and(
      filter.actor ? eq(auditLog.actorId, filter.actor) : undefined,
      filter.action ? eq(auditLog.action, filter.action) : undefined,
      filter.targetType ? eq(auditLog.targetType, filter.targetType) : undefined,
      filter.targetId ? eq(auditLog.targetId, filter.targetId) : undefined,
      filter.from ? gte(auditLog.occurredAt, filter.from) : undefined,
      filter.to ? lte(auditLog.occurredAt, filter.to) : undefined,
    ) ?? sql`true`
  );
}

export const auditRecordSchema = z
  .object({
    org_id: z.uuid(),
    seq: z.number().int(),
    occurred_at: z.string().openapi({ example: '2026-11-26T08:00:00.123456Z' }),
    actor_type: z.string().openapi({ example: 'user', description: 'user, api_key or system' }),
    actor_id: z.string().nullable(),
    action: z.string().openapi({ example: 'project.create' }),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    request_id: z.string().nullable(),
    ip: z.string().nullable(),
    data: z.unknown(),
    prev_hash: z.string().openapi({ description: 'Hex SHA-256 of the previous row (zeros for the first).' }),
    hash: z.string().openapi({ description: 'Hex SHA-256(prev_hash || RFC 8785 canonical JSON of the row without hash).' }),
  })
  .openapi('AuditRecord');
