import { createRoute } from '@hono/zod-openapi';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { toWorkflow, workflowIdParams, workflowSchema } from '../schemas.ts';
import { loadWorkflow } from '../store.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/workflows/{id}',
  tags: ['workflows'],
  summary: 'Get a workflow with its current version’s steps',
  request: { params: workflowIdParams },
  responses: { 200: jsonResponse(workflowSchema, 'The workflow.'), ...commonErrors, ...notFoundError },
});

export function registerGetWorkflow(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { workflow, steps } = await loadWorkflow(c.var.tx, c.req.valid('param').id);
    return c.json(toWorkflow(workflow, steps), 200);
  });
}
