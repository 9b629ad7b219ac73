import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { collectControl } from '../../../db/controls/collect.ts';
import { controlStates } from '../../../db/controls/states.ts';
import { firstCollectionAt, normalizeMappings } from '../../../db/controls/sources.ts';
import { controlFrameworks, controls, controlStatuses, evidenceSnapshots } from '../../../db/schema/controls.ts';
import { audit, auditContext, countAppendOnCommit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { controlIdParams, controlSchema, evidenceList, snapshotSchema, toControl, toSnapshot } from '../schemas.ts';

const controlPage = z.object({ data: z.array(controlSchema), nextCursor: z.string().nullable() }).openapi('ControlPage');

export const listQuery = pageQuerySchema.extend({
  framework: z.string().max(100).optional().openapi({ description: 'Only controls of this adopted framework (e.g. soc2); `custom` for the organization’s own.', example: 'soc2' }),
});

export const listRoute = createRoute({
  method: 'get',
  path: '/v1/controls',
  tags: ['controls'],
  summary: 'List the organization’s controls, newest first',
  request: { query: listQuery },
  responses: { 200: jsonResponse(controlPage, 'A page of controls.'), ...commonErrors },
});

const editable = {
  title: z.string().trim().min(1).max(300),
  description: z.string().max(4000),
  owner: z.string().trim().min(1).max(200).nullable(),
  status: z.enum(controlStatuses),
  applicable: z.boolean(),
  notes: z.string().max(20_000),
  evidence: evidenceList,
  scheduleMinutes: z.number().int().min(5).max(525_600).nullable(),
};

export const createBody = z
  .object({ ref: z.string().trim().min(1).max(50), ...editable, description: editable.description.default(''), notes: editable.notes.default('') })
  .partial({ owner: true, status: true, applicable: true, evidence: true, scheduleMinutes: true })
  .openapi('CreateControl', { example: { ref: 'ACME-1', title: 'Quarterly access review', evidence: [{ source: 'access_review', parameters: { periodDays: 90 } }] } });

export const createRoute_ = createRoute({
  method: 'post',
  path: '/v1/controls',
  security: SESSION_ONLY,
  tags: ['controls'],
  summary: 'Add a control of the organization’s own',
  request: { body: jsonBody(createBody) },
  responses: { 201: jsonResponse(controlSchema, 'The control.'), ...commonErrors },
});

export const getRoute = createRoute({
  method: 'get',
  path: '/v1/controls/{id}',
  tags: ['controls'],
  summary: 'Read a control with its evidence history (newest 50 snapshots)',
  request: { params: controlIdParams },
  responses: { 200: jsonResponse(controlSchema.extend({ snapshots: z.array(snapshotSchema) }), 'The control.'), ...commonErrors, ...notFoundError },
});

export const updateBody = z
  .object(editable)
  .partial()
  .refine((body) => Object.keys(body).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateControl', { example: { owner: 'security@acme.test', status: 'implemented' } });

export const updateRoute = createRoute({
  method: 'patch',
  path: '/v1/controls/{id}',
  security: SESSION_ONLY,
  tags: ['controls'],
  summary: 'Edit a control: owner, status, notes, applicability, evidence mappings, schedule',
  request: { params: controlIdParams, body: jsonBody(updateBody) },
  responses: { 200: jsonResponse(controlSchema, 'The changed control.'), ...commonErrors, ...notFoundError },
});

export const collectRoute = createRoute({
  method: 'post',
  path: '/v1/controls/{id}/collect',
  security: SESSION_ONLY,
  tags: ['controls'],
  summary: 'Collect evidence for a control now: one immutable snapshot per mapped source',
  request: { params: controlIdParams },
  responses: {
    201: jsonResponse(z.object({ passed: z.boolean(), snapshots: z.array(snapshotSchema) }), 'The snapshots just stored.'),
    ...commonErrors,
    ...notFoundError,
    422: { description: 'The control has no evidence source mapped.' },
  },
});

const summaryItem = z.object({
  id: z.uuid(),
  ref: z.string(),
  title: z.string(),
  framework: z.string().nullable(),
  status: z.enum(controlStatuses),
  state: z.enum(['passing', 'failing', 'no_evidence', 'not_applicable']),
  lastCollectedAt: z.string().nullable(),
  failingSources: z.array(z.string()),
});

export const summaryRoute = createRoute({
  method: 'get',
  path: '/v1/controls/summary',
  tags: ['controls'],
  summary: 'Every control’s state from its latest evidence; failing controls first',
  responses: {
    200: jsonResponse(
      z.object({ counts: z.object({ passing: z.number(), failing: z.number(), no_evidence: z.number(), not_applicable: z.number() }), failing: z.array(summaryItem), controls: z.array(summaryItem) }).openapi('ControlSummary'),
      'The summary.',
    ),
    ...commonErrors,
  },
});

export function registerControlRoutes(app: FunctionApp) {
  // Before /v1/controls/{id}: "summary" is not a uuid and must not reach that route.
  app.openapi(summaryRoute, async (c) => {
    const states = await controlStates(c.var.tx);
    const counts = { passing: 0, failing: 0, no_evidence: 0, not_applicable: 0 };
    for (const s of states) counts[s.state]++;
    return c.json({ counts, failing: states.filter((s) => s.state === 'failing'), controls: states }, 200);
  });

  app.openapi(listRoute, async (c) => {
    const { limit, cursor, framework } = c.req.valid('query');
    let frameworkFilter;
    if (framework === 'custom') frameworkFilter = isNull(controls.frameworkId);
    else if (framework) {
      const [adopted] = await c.var.tx.select({ id: controlFrameworks.id }).from(controlFrameworks).where(eq(controlFrameworks.framework, framework));
      if (!adopted) return c.json({ data: [], nextCursor: null }, 200);
      frameworkFilter = eq(controls.frameworkId, adopted.id);
    }
    const rows = await c.var.tx
      .select()
      .from(controls)
      .where(and(frameworkFilter, beforeCursor(controls.createdAt, controls.id, decodeCursor(cursor))))
      .orderBy(...newestFirst(controls.createdAt, controls.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toControl), nextCursor: result.nextCursor }, 200);
  });

  app.openapi(createRoute_, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const input = c.req.valid('json');
    const evidence = normalizeMappings(input.evidence ?? []);
    const [row] = await c.var.tx
      .insert(controls)
      .values({ ...input, orgId: c.var.org.id, evidence, nextCollectionAt: firstCollectionAt(input.scheduleMinutes, evidence.length) })
      .returning();
    await audit(c, { action: 'control.create', targetType: 'control', targetId: row!.id, data: { after: toControl(row!) } });
    return c.json(toControl(row!), 201);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const [row] = await c.var.tx.select().from(controls).where(eq(controls.id, id));
    if (!row) throw new ApiError('not_found', 'No control with this id.');
    const snapshots = await c.var.tx.select().from(evidenceSnapshots).where(eq(evidenceSnapshots.controlId, id)).orderBy(...newestFirst(evidenceSnapshots.collectedAt)).limit(50);
    return c.json({ ...toControl(row), snapshots: snapshots.map(toSnapshot) }, 200);
  });

  app.openapi(updateRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const [before] = await c.var.tx.select().from(controls).where(eq(controls.id, id)).for('update');
    if (!before) throw new ApiError('not_found', 'No control with this id.');
    const evidence = changes.evidence ? normalizeMappings(changes.evidence) : before.evidence;
    const scheduleMinutes = changes.scheduleMinutes !== undefined ? changes.scheduleMinutes : before.scheduleMinutes;
    const schedulingChanged = changes.evidence !== undefined || changes.scheduleMinutes !== undefined;
    const [row] = await c.var.tx
      .update(controls)
      .set({
        ...changes,
        evidence,
        ...(schedulingChanged ? { nextCollectionAt: firstCollectionAt(scheduleMinutes, evidence.length) } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(controls.id, id))
      .returning();
    await audit(c, { action: 'control.update', targetType: 'control', targetId: id, data: { before: toControl(before), after: toControl(row!), changes } });
    return c.json(toControl(row!), 200);
  });

  app.openapi(collectRoute, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const [control] = await c.var.tx.select().from(controls).where(eq(controls.id, id)).for('update');
    if (!control) throw new ApiError('not_found', 'No control with this id.');
    if (control.evidence.length === 0) throw new ApiError('unprocessable', 'This control is not mapped to any evidence source yet; map one with PATCH first.');
    const snapshots = await collectControl(c.var.tx, auditContext(c), control, 'on_demand');
    countAppendOnCommit(c);
    return c.json({ passed: snapshots.every((s) => s.passed), snapshots: snapshots.map(toSnapshot) }, 201);
  });
}
