import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { decisionEvents, decisionKinds } from '../../../db/schema/decisions.ts';
import { insertDecisionEvent, metadataRefusal } from '../../../db/decisions.ts';
import { holdProjectForWork } from '../../../db/projects.ts';
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
    supersedes: z.uuid().optional().openapi({ description: 'An earlier, still active event of the same project that this one replaces.' }),
  })
  .openapi('CreateDecisionEvent', {
    example: { projectId: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d', kind: 'decision', title: 'Use the EU region', rationale: 'Customer contracts require it.' },
  });

export const route = createRoute({
  method: 'post',
  path: '/v1/decision-events',
  tags: ['decision-events'],
  summary: 'Record a decision event (append-only; superseding marks the earlier one superseded)',
  request: { body: jsonBody(createDecisionEventBody) },
  responses: {
    201: jsonResponse(decisionEventSchema, 'The recorded event.'),
    ...commonErrors,
    ...notFoundError,
    409: problem('The project is archived (unarchive it first), or the event to supersede is not active any more.'),
    422: problem('The metadata is too large or too deeply nested, or the event to supersede belongs to another project.'),
  },
});

export function registerCreateDecisionEvent(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const input = c.req.valid('json');
    const tx = c.var.tx;
    const refusal = metadataRefusal(input.metadata);
    if (refusal) throw new ApiError('unprocessable', refusal);
    // Held until commit, before the event to supersede: the order a deletion of
    // the project takes, which then waits for this request instead of
    // deadlocking with it or deleting the project under the new event; an
    // archive waits too.
    await holdProjectForWork(tx, { projectId: input.projectId });
    if (input.supersedes) {
      const [earlier] = await tx.select().from(decisionEvents).where(eq(decisionEvents.id, input.supersedes)).for('update');
      if (!earlier) throw new ApiError('not_found', 'No decision event with the id given in supersedes.');
      if (earlier.status !== 'active') throw new ApiError('conflict', `The event to supersede is ${earlier.status}, not active.`);
      // A correction stays with what it corrects: linked across projects, the
      // one project's deletion would take the other's events with it.
      if (earlier.projectId !== input.projectId) throw new ApiError('unprocessable', 'The event to supersede belongs to another project; record the correction in that project.');
    }
    const { actor } = auditContext(c);
    const { event, audit: entry } = await insertDecisionEvent(tx, { ...input, orgId: c.var.org.id, actor });
    await audit(c, entry);
    // Recorded here, not by a workflow step: it belongs to no run.
    return c.json({ ...event, workflowRunId: null, workflowStep: null }, 201);
  });
}
