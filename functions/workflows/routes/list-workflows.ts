import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { projectParams, toWorkflow, workflowSchema } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/projects/{projectId}/workflows',
  tags: ['workflows'],
  summary: "List a project's workflows",
  request: { params: projectParams },
  responses: { 200: jsonResponse(z.object({ data: z.array(workflowSchema) }).openapi('WorkflowList'), 'The workflows.'), ...commonErrors, ...notFoundError },
});

export function registerListWorkflows(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { projectId } = c.req.valid('param');
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
      .where(eq(workflows.projectId, projectId))
      .orderBy(desc(workflows.createdAt))
      .limit(500);
    return c.json({ data: rows.map((r) => toWorkflow(r.workflow, r.steps)) }, 200);
  });
}

