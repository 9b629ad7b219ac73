import { createRoute, z } from '@hono/zod-openapi';
import { desc, eq, inArray } from 'drizzle-orm';
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
    const rows = await c.var.tx.select().from(workflows).where(eq(workflows.projectId, projectId)).orderBy(desc(workflows.createdAt)).limit(500);
    const versions = rows.length
      ? await c.var.tx.select().from(workflowVersions).where(inArray(workflowVersions.workflowId, rows.map((r) => r.id)))
      : [];
    const stepsOf = (w: (typeof rows)[number]) => versions.find((v) => v.workflowId === w.id && v.version === w.currentVersion)?.steps ?? [];
    return c.json({ data: rows.map((w) => toWorkflow(w, stepsOf(w))) }, 200);
  });
}

