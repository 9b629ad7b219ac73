import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { workflowStatuses, workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { projectParams, toWorkflow, workflowSchema } from '../schemas.ts';

export const listWorkflowsQuery = pageQuerySchema.extend({
  status: z.enum(workflowStatuses).optional().openapi({ example: 'active' }),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/projects/{projectId}/workflows',
  tags: ['workflows'],
  summary: "List a project's workflows, newest first",
  request: { params: projectParams, query: listWorkflowsQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(workflowSchema), nextCursor: z.string().nullable() }).openapi('WorkflowList'), 'A page of workflows.'),
    ...commonErrors,
    ...notFoundError,
  },
});

export function registerListWorkflows(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { projectId } = c.req.valid('param');
    const { limit, cursor, status } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const [project] = await c.var.tx.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId));
    if (!project) throw new ApiError('not_found', 'No project with this id.');
    // Each workflow with its current version's steps, in one query.
    const rows = await c.var.tx
      .select({ workflow: workflows, steps: workflowVersions.steps })
      .from(workflows)
      .innerJoin(
        workflowVersions,
        and(eq(workflowVersions.orgId, workflows.orgId), eq(workflowVersions.workflowId, workflows.id), eq(workflowVersions.version, workflows.currentVersion)),
      )
      .where(and(eq(workflows.projectId, projectId), status ? eq(workflows.status, status) : undefined, beforeCursor(workflows.createdAt, workflows.id, after)))
      .orderBy(...newestFirst(workflows.createdAt, workflows.id))
      .limit(limit + 1);
    const result = page(
      rows.map((r) => ({ ...r, createdAt: r.workflow.createdAt, id: r.workflow.id })),
      limit,
    );
    return c.json({ data: result.data.map((r) => toWorkflow(r.workflow, r.steps)), nextCursor: result.nextCursor }, 200);
  });
}
