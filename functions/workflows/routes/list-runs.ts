import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { runStatuses, workflowRuns, workflowVersions } from '../../../db/schema/workflows.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { runSchema, toRun, workflowIdParams } from '../schemas.ts';
import { loadWorkflow } from '../store.ts';

export const listRunsQuery = pageQuerySchema.extend({
  status: z.enum(runStatuses).optional().openapi({ example: 'running' }),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/workflows/{id}/runs',
  tags: ['workflows'],
  summary: "List a workflow's runs, newest first, each with the steps of the version it runs",
  request: { params: workflowIdParams, query: listRunsQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(runSchema), nextCursor: z.string().nullable() }).openapi('WorkflowRunPage'), 'A page of runs.'),
    ...commonErrors,
    ...notFoundError,
  },
});

export function registerListRuns(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const { limit, cursor, status } = c.req.valid('query');
    const after = decodeCursor(cursor);
    await loadWorkflow(c.var.tx, id);
    const rows = await c.var.tx
      .select({ run: workflowRuns, steps: workflowVersions.steps })
      .from(workflowRuns)
      .innerJoin(
        workflowVersions,
        and(eq(workflowVersions.orgId, workflowRuns.orgId), eq(workflowVersions.workflowId, workflowRuns.workflowId), eq(workflowVersions.version, workflowRuns.version)),
      )
      .where(and(eq(workflowRuns.workflowId, id), status ? eq(workflowRuns.status, status) : undefined, beforeCursor(workflowRuns.createdAt, workflowRuns.id, after)))
      .orderBy(...newestFirst(workflowRuns.createdAt, workflowRuns.id))
      .limit(limit + 1);
    const result = page(
      rows.map((r) => ({ ...r, createdAt: r.run.createdAt, id: r.run.id })),
      limit,
    );
    return c.json({ data: result.data.map((r) => toRun(r.run, r.steps)), nextCursor: result.nextCursor }, 200);
  });
}
