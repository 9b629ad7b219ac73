import { createRoute, z } from '@hono/zod-openapi';
import { desc } from 'drizzle-orm';
import { verifierKey } from '../../../db/audit/checkpoint.ts';
import { auditCheckpoints } from '../../../db/schema/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';

const checkpointSchema = z
  .object({
    seq: z.number().int(),
    headHash: z.string(),
    signedAt: z.string(),
    keyName: z.string(),
    note: z.string().openapi({ description: 'The signed note; keep it to check an export offline later.' }),
  })
  .openapi('AuditCheckpoint');

export const listRoute = createRoute({
  method: 'get',
  path: '/v1/audit-log/checkpoints',
  tags: ['audit'],
  summary: 'Signed checkpoints of the chain, newest first',
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ example: 50 }) }) },
  responses: { 200: jsonResponse(z.object({ data: z.array(checkpointSchema) }), 'Checkpoints.'), ...commonErrors },
});

export const keyRoute = createRoute({
  method: 'get',
  path: '/v1/audit-log/public-key',
  tags: ['audit'],
  summary: 'The key checkpoints are signed with, as a signed-note verifier key',
  responses: {
    200: jsonResponse(z.object({ algorithm: z.literal('Ed25519'), keyName: z.string(), verifierKey: z.string() }).openapi('AuditPublicKey'), 'The public key.'),
    ...commonErrors,
  },
});

export function registerCheckpointRoutes(app: FunctionApp) {
  app.openapi(listRoute, async (c) => {
    const rows = await c.var.tx.select().from(auditCheckpoints).orderBy(desc(auditCheckpoints.seq)).limit(c.req.valid('query').limit);
    return c.json(
      { data: rows.map((r) => ({ seq: r.seq, headHash: r.headHash.toString('hex'), signedAt: r.signedAt, keyName: r.keyName, note: r.note })) },
      200,
    );
  });
  app.openapi(keyRoute, async (c) => {
    const signer = c.get('platform').auditSigner;
    if (!signer) throw new Error('no audit signing key is configured');
    return c.json({ algorithm: 'Ed25519' as const, keyName: signer.keyName, verifierKey: verifierKey(signer) }, 200);
  });
}
