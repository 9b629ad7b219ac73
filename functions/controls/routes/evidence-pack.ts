import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { controlFrameworks, controls } from '../../../db/schema/controls.ts';
import { auditContext, countAppendOnCommit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, dateTimeSchema, jsonBody, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { buildEvidencePack, DEFAULT_PACK_MAX_BYTES } from '../pack.ts';
import { controlStates } from '../../../db/controls/states.ts';

// A little slack for clocks: "to" may be the client's now.
const FUTURE_SLACK_MS = 60_000;

export const packBody = z
  .object({
    framework: z.string().min(1).max(100).openapi({ example: 'soc2' }),
    from: dateTimeSchema().openapi({ example: '2026-08-01T00:00:00Z' }),
    to: dateTimeSchema().openapi({ example: '2026-11-01T00:00:00Z' }),
  })
  .superRefine((body, ctx) => {
    const from = Date.parse(body.from);
    const to = Date.parse(body.to);
    if (from >= to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'the period ends before it starts' });
    if (to > Date.now() + FUTURE_SLACK_MS) ctx.addIssue({ code: 'custom', path: ['to'], message: 'the period ends in the future' });
    if (from > Date.now()) ctx.addIssue({ code: 'custom', path: ['from'], message: 'the period starts in the future' });
  })
  .openapi('CreateEvidencePack');

export const route = createRoute({
  method: 'post',
  path: '/v1/evidence-packs',
  security: SESSION_ONLY,
  tags: ['controls'],
  summary: 'Build an evidence pack (zip) for an adopted framework and a period',
  description: 'The archive holds a manifest with the SHA-256 of every file, the evidence snapshots of the period, the audit chain through the row recording this pack (which holds the SHA-256 of controls.json and of the README and the set of snapshots shipped), the signed checkpoints it covers (one at that row), the audit public key and a README. Verify it offline with `npx kommit-audit verify-pack <file.zip> --public-key <key>`, the key from GET /v1/audit-log/public-key. Building a pack is audited.',
  request: { body: jsonBody(packBody) },
  responses: {
    200: { description: 'The pack.', content: { 'application/zip': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...commonErrors,
    ...notFoundError,
    422: problem('The pack would exceed the size limit.'),
  },
});

export function registerEvidencePackRoute(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const input = c.req.valid('json');
    const [framework] = await c.var.tx.select().from(controlFrameworks).where(eq(controlFrameworks.framework, input.framework));
    if (!framework) throw new ApiError('not_found', `This organization has not adopted a framework named ${input.framework}.`);
    const signer = c.get('platform').auditSigner;
    if (!signer) throw new Error('no audit signing key is configured');
    const from = new Date(input.from).toISOString();
    const to = new Date(Math.min(Date.parse(input.to), Date.now())).toISOString();
    const states = new Map((await controlStates(c.var.tx)).map((s) => [s.id, s]));
    const mine = await c.var.tx.select().from(controls).where(eq(controls.frameworkId, framework.id)).orderBy(controls.ref);
    // The pack writes its own audit row (the last of the chain it holds).
    const { zip } = await buildEvidencePack(c.var.tx, {
      audit: { ...auditContext(c), signer },
      framework,
      from,
      to,
      controls: mine.map((m) => ({ id: m.id, ref: m.ref, title: m.title, owner: m.owner, status: m.status, applicable: m.applicable, notes: m.notes, evidence: m.evidence, state: states.get(m.id)?.state ?? null })),
      maxBytes: c.get('platform').config.evidencePackMaxBytes ?? DEFAULT_PACK_MAX_BYTES,
    });
    countAppendOnCommit(c);
    const name = `kommit-evidence-${framework.framework}-${from.slice(0, 10)}-${to.slice(0, 10)}.zip`;
    return c.body(zip as unknown as ArrayBuffer, 200, { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="${name}"` }) as never;
  });
}
