import { createRoute, z } from '@hono/zod-openapi';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { stepSchema } from '../schemas.ts';
import { loadSteps, loadWorkflow } from '../store.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/workflows/{id}/versions/{version}',
  tags: ['workflows'],
  summary: 'Read an earlier (or the current) version of a workflow',
  request: {
    params: z.object({
      id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
      version: z.coerce.number().int().min(1).max(1_000_000).openapi({ param: { name: 'version', in: 'path' }, example: 1 }),
    }),
  },
  responses: {
    200: jsonResponse(z.object({ workflowId: z.uuid(), version: z.number().int(), steps: z.array(stepSchema) }).openapi('WorkflowVersion'), 'The version.'),
    ...commonErrors,
    ...notFoundError,
  },
});

export function registerGetWorkflowVersion(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id, version } = c.req.valid('param');
    await loadWorkflow(c.var.tx, id);
    return c.json({ workflowId: id, version, steps: await loadSteps(c.var.tx, id, version) }, 200);
  });
}
