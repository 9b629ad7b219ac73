import { createRoute, z } from '@hono/zod-openapi';
import { holdProjectForWork } from '../../../db/projects.ts';
import { workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, projectArchivedError } from '../../../middleware/openapi.ts';
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
  responses: { 201: jsonResponse(workflowSchema, 'The workflow.'), ...commonErrors, ...notFoundError, ...projectArchivedError },
});

export function registerCreateWorkflow(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { projectId } = c.req.valid('param');
    const input = c.req.valid('json');
    // Held until commit: the project can be neither deleted nor archived under the new workflow.
    await holdProjectForWork(c.var.tx, { projectId });
    const [workflow] = await c.var.tx.insert(workflows).values({ orgId: c.var.org.id, projectId, name: input.name }).returning();
    await c.var.tx.insert(workflowVersions).values({ orgId: c.var.org.id, workflowId: workflow!.id, version: 1, steps: input.steps });
    const result = toWorkflow(workflow!, input.steps);
    await audit(c, { action: 'workflow.create', targetType: 'workflow', targetId: workflow!.id, data: { after: result } });
    return c.json(result, 201);
  });
}
