import { createRoute } from '@hono/zod-openapi';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { runParams, runSchema, toRun } from '../schemas.ts';
import { loadRun } from '../store.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/workflows/{id}/runs/{runId}',
  tags: ['workflows'],
  summary: 'See the state of a run',
  request: { params: runParams },
  responses: { 200: jsonResponse(runSchema, 'The run.'), ...commonErrors, ...notFoundError },
});

export function registerGetRun(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id, runId } = c.req.valid('param');
    const { run, steps } = await loadRun(c.var.tx, id, runId);
    return c.json(toRun(run, steps), 200);
  });
}
