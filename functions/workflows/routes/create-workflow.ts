import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { projectParams, stepsSchema, toWorkflow, workflowSchema } from '../schemas.ts';

export const createWorkflowBody = z
  .object({ name: z.string().trim().min(1).max(200), steps: stepsSchema })
  .openapi('CreateWorkflow', {
    example: { name: 'Model release', steps: [{ name: 'Risk review', kind: 'review', requiredRole: 'member' }, { name: 'Sign-off', kind: 'approval', requiredRole: 'admin' }] },
  });

export const route = createRoute({
  method: 'post',
  path: '/v1/projects/{projectId}/workflows',
  tags: ['workflows'],
  summary: 'Create a workflow (draft, version 1) in a project',
  request: { params: projectParams, body: jsonBody(createWorkflowBody) },
  responses: { 201: jsonResponse(workflowSchema, 'The workflow.'), ...commonErrors, ...notFoundError },
});

export function registerCreateWorkflow(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { projectId } = c.req.valid('param');
    const input = c.req.valid('json');
    // Key-share locked until commit: the project cannot be deleted under the new workflow.
    const [project] = await c.var.tx.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId)).for('key share');
    if (!project) throw new ApiError('not_found', 'No project with this id.');
    const [workflow] = await c.var.tx.insert(workflows).values({ orgId: c.var.org.id, projectId, name: input.name }).returning();
    await c.var.tx.insert(workflowVersions).values({ orgId: c.var.org.id, workflowId: workflow!.id, version: 1, steps: input.steps });
    const result = toWorkflow(workflow!, input.steps);
    await audit(c, { action: 'workflow.create', targetType: 'workflow', targetId: workflow!.id, data: { after: result } });
    return c.json(result, 201);
  });
}
