import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { decisionEvents, decisionKinds } from '../../../db/schema/decisions.ts';
import { insertDecisionEvent, metadataRefusal } from '../../../db/decisions.ts';
import { holdProjectForWork } from '../../../db/projects.ts';
import type { Tx } from '../../../db/tenant.ts';
import { audit, auditContext } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem } from '../../../middleware/openapi.ts';
import { decisionEventSchema } from '../schemas.ts';

export const createDecisionEventBody = z
  .object({
    projectId: z.uuid(),
    kind: z.enum(decisionKinds),
    title: z.string().trim().min(1).max(500),
    rationale: z.string().max(20_000).optional(),
    outcome: z.string().max(20_000).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    supersedes: z.uuid().optional().openapi({
      description: 'An earlier event of the same project, active or conflicting, that this one replaces: it becomes superseded (which is how a conflict is resolved).',
      example: '5b0e8f1a-3c2d-4e6f-9a7b-1c2d3e4f5a6b',
    }),
    conflictsWith: z.uuid().optional().openapi({
      description:
        'An earlier event of the same project, active or conflicting, that this one contradicts: both are then conflicting, each until it is superseded (which is how a conflict is resolved) or archived. Not together with supersedes.',
      example: '5b0e8f1a-3c2d-4e6f-9a7b-1c2d3e4f5a6b',
    }),
  })
  .refine((body) => body.supersedes === undefined || body.conflictsWith === undefined, {
    message: 'An event either replaces an earlier one (supersedes) or contradicts it (conflictsWith), not both.',
    path: ['conflictsWith'],
  })
  .openapi('CreateDecisionEvent', {
    example: { projectId: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d', kind: 'decision', title: 'Use the EU region', rationale: 'Customer contracts require it.' },
  });

export const route = createRoute({
  method: 'post',
  path: '/v1/decision-events',
  tags: ['decision-events'],
  summary: 'Record a decision event (append-only; superseding marks the earlier one superseded, conflicting marks both conflicting)',
  request: { body: jsonBody(createDecisionEventBody) },
  responses: {
    201: jsonResponse(decisionEventSchema, 'The recorded event.'),
    ...commonErrors,
    ...notFoundError,
    409: problem('The project is archived (unarchive it first), or the event to supersede or conflict with is superseded or archived.'),
    422: problem('The metadata is too large or too deeply nested, or the event to supersede or conflict with belongs to another project.'),
  },
});

/**
 * The earlier event a new one supersedes or conflicts with, locked until
 * commit (its status changes with the insert): it must be of the same project
 * and still standing (active, or in conflict). Another organization's looks
 * missing, as everywhere.
 */
async function lockEarlier(tx: Tx, id: string, field: 'supersedes' | 'conflictsWith', projectId: string) {
  const what = field === 'supersedes' ? 'supersede' : 'conflict with';
  const [earlier] = await tx.select().from(decisionEvents).where(eq(decisionEvents.id, id)).for('update');
  if (!earlier) throw new ApiError('not_found', `No decision event with the id given in ${field}.`);
  if (earlier.status !== 'active' && earlier.status !== 'conflicting') {
    throw new ApiError('conflict', `The event to ${what} is ${earlier.status}; only an active or conflicting event can be ${field === 'supersedes' ? 'superseded' : 'in conflict'}.`);
  }
  // A correction or contradiction stays with what it answers: linked across
  // projects, the one project's deletion would take the other's events with it.
  if (earlier.projectId !== projectId) throw new ApiError('unprocessable', `The event to ${what} belongs to another project; record this one in that project.`);
}

export function registerCreateDecisionEvent(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const input = c.req.valid('json');
    const tx = c.var.tx;
    const refusal = metadataRefusal(input.metadata);
    if (refusal) throw new ApiError('unprocessable', refusal);
    // Held until commit, before the earlier event: the order a deletion of the
    // project takes, which then waits for this request instead of deadlocking
    // with it or deleting the project under the new event; an archive waits too.
    await holdProjectForWork(tx, { projectId: input.projectId });
    if (input.supersedes) await lockEarlier(tx, input.supersedes, 'supersedes', input.projectId);
    if (input.conflictsWith) await lockEarlier(tx, input.conflictsWith, 'conflictsWith', input.projectId);
    const { actor } = auditContext(c);
    const { event, audit: entry, earlier } = await insertDecisionEvent(tx, { ...input, orgId: c.var.org.id, actor });
    await audit(c, entry);
    if (earlier) await audit(c, earlier);
    // Recorded here, not by a workflow step: it belongs to no run.
    return c.json({ ...event, workflowRunId: null, workflowStep: null }, 201);
  });
}
