import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { decisionEvents, decisionKinds, decisionStatuses } from '../../../db/schema/decisions.ts';
import { projects } from '../../../db/schema/projects.ts';
import { workflowRuns } from '../../../db/schema/workflows.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, problem } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { decisionEventSchema, toDecisionEvent } from '../schemas.ts';

export const listQuery = pageQuerySchema.extend({
  projectId: z.uuid().optional().openapi({ example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
  kind: z.enum(decisionKinds).optional().openapi({ example: 'decision' }),
  status: z.enum(decisionStatuses).optional().openapi({ example: 'active' }),
  workflowRunId: z.uuid().optional().openapi({ description: 'Only the decisions of this workflow run’s steps.', example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/decision-events',
  tags: ['decision-events'],
  summary: 'List decision events, newest first',
  request: { query: listQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(decisionEventSchema), nextCursor: z.string().nullable() }).openapi('DecisionEventPage'), 'A page of events.'),
    ...commonErrors,
    404: problem('The project or workflow run the filter names is not one of this organization.'),
  },
});

export function registerListDecisionEvents(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { limit, cursor, projectId, kind, status, workflowRunId } = c.req.valid('query');
    const after = decodeCursor(cursor);
    // A filter naming a parent the organization cannot see answers as the parent's
    // path would (404), not with an empty page: row-level security hides another
    // organization's rows, so theirs reads exactly like one that does not exist.
    if (projectId) {
      const [project] = await c.var.tx.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId));
      if (!project) throw new ApiError('not_found', 'No project with the id given in projectId.');
    }
    if (workflowRunId) {
      const [run] = await c.var.tx.select({ id: workflowRuns.id }).from(workflowRuns).where(eq(workflowRuns.id, workflowRunId));
      if (!run) throw new ApiError('not_found', 'No workflow run with the id given in workflowRunId.');
    }
    const rows = await c.var.tx
      .select()
      .from(decisionEvents)
      .where(
        and(
          projectId ? eq(decisionEvents.projectId, projectId) : undefined,
          kind ? eq(decisionEvents.kind, kind) : undefined,
          status ? eq(decisionEvents.status, status) : undefined,
          workflowRunId ? eq(decisionEvents.workflowRunId, workflowRunId) : undefined,
          beforeCursor(decisionEvents.createdAt, decisionEvents.id, after),
        ),
      )
      .orderBy(...newestFirst(decisionEvents.createdAt, decisionEvents.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toDecisionEvent), nextCursor: result.nextCursor }, 200);
  });
}
