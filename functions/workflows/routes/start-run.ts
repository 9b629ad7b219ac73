import { createRoute } from '@hono/zod-openapi';
import { workflowRuns } from '../../../db/schema/workflows.ts';
import { holdProjectForWork } from '../../../db/projects.ts';
import { audit, auditContext } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError, problem } from '../../../middleware/openapi.ts';
import { runSchema, toRun, workflowIdParams } from '../schemas.ts';
import { loadWorkflow } from '../store.ts';

export const route = createRoute({
  method: 'post',
  path: '/v1/workflows/{id}/runs',
  tags: ['workflows'],
  summary: 'Start a run of an active workflow (on its current version)',
  request: { params: workflowIdParams },
  responses: { 201: jsonResponse(runSchema, 'The run.'), ...commonErrors, ...notFoundError, 409: problem('The workflow is not active, or its project is archived.') },
});

export function registerStartRun(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    await holdProjectForWork(c.var.tx, { workflowId: id });
    const { workflow, steps } = await loadWorkflow(c.var.tx, id);
    if (workflow.status !== 'active') throw new ApiError('conflict', `The workflow is ${workflow.status}; only active workflows run.`);
    const [run] = await c.var.tx
      .insert(workflowRuns)
      .values({ orgId: c.var.org.id, workflowId: id, version: workflow.currentVersion, startedBy: auditContext(c).actor.id })
      .returning();
    await audit(c, { action: 'workflow_run.start', targetType: 'workflow_run', targetId: run!.id, data: { workflowId: id, version: run!.version } });
    return c.json(toRun(run!, steps), 201);
  });
}
