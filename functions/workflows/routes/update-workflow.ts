import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { workflowStatuses, workflowVersions, workflows } from '../../../db/schema/workflows.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { stepsSchema, toWorkflow, workflowIdParams, workflowSchema } from '../schemas.ts';
import { loadWorkflow } from '../store.ts';

export const updateWorkflowBody = z
  .object({ name: z.string().trim().min(1).max(200).optional(), status: z.enum(workflowStatuses).optional(), steps: stepsSchema.optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateWorkflow', { example: { status: 'active' } });

export const route = createRoute({
  method: 'patch',
  path: '/v1/workflows/{id}',
  tags: ['workflows'],
  summary: 'Change a workflow; new steps on an active workflow make a new version',
  request: { params: workflowIdParams, body: jsonBody(updateWorkflowBody) },
  responses: { 200: jsonResponse(workflowSchema, 'The workflow.'), ...commonErrors, ...notFoundError },
});

export function registerUpdateWorkflow(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const tx = c.var.tx;
    const { workflow, steps } = await loadWorkflow(tx, id, true);
    let version = workflow.currentVersion;
    if (input.steps) {
      if (workflow.status === 'draft') {
        // Nothing ran on a draft yet: its version is rewritten in place.
        await tx.update(workflowVersions).set({ steps: input.steps }).where(and(eq(workflowVersions.workflowId, id), eq(workflowVersions.version, version)));
      } else {
        version += 1;
        await tx.insert(workflowVersions).values({ orgId: c.var.org.id, workflowId: id, version, steps: input.steps });
      }
    }
    const [row] = await tx
      .update(workflows)
      .set({ ...(input.name ? { name: input.name } : {}), ...(input.status ? { status: input.status } : {}), currentVersion: version, updatedAt: sql`now()` })
      .where(eq(workflows.id, id))
      .returning();
    const result = toWorkflow(row!, input.steps ?? steps);
    await audit(c, { action: 'workflow.update', targetType: 'workflow', targetId: id, data: { before: toWorkflow(workflow, steps), after: result } });
    return c.json(result, 200);
  });
}
