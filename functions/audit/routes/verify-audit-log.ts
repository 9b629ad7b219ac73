import { createRoute, z } from '@hono/zod-openapi';
import { readChain } from '../../../db/audit/read.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';

export const verifyResultSchema = z
  .object({
    ok: z.boolean(),
    rowsChecked: z.number().int(),
    head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
    firstBreak: z
      .object({ kind: z.enum(['altered', 'missing', 'reordered', 'inserted']), seq: z.number().int(), detail: z.string() })
      .nullable(),
    checkpoint: z.object({ seq: z.number().int(), hash: z.string() }).nullable().openapi({ description: 'The latest signed checkpoint compared against.' }),
  })
  .openapi('AuditVerification', { example: { ok: true, rowsChecked: 3, head: { seq: 3, hash: 'ab12…' }, firstBreak: null, checkpoint: { seq: 1, hash: 'cd34…' } } });

export const route = createRoute({
  method: 'get',
  path: '/v1/audit-log/verify',
  tags: ['audit'],
  summary: "Recompute the organization's hash chain and report the first broken link",
  responses: { 200: jsonResponse(verifyResultSchema, 'The verification result (ok or the first break).'), ...commonErrors },
});

export function registerVerifyAuditLog(app: FunctionApp) {
  app.openapi(route, async (c) => c.json(await readChain(c.var.tx, c.var.org.id, { signer: c.get('platform').auditSigner }), 200));
}
