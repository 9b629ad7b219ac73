import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { holdProjectForWork } from '../../../db/projects.ts';
import { webhookTargets } from '../../../db/schema/webhooks.ts';
import { insertWebhookEndpoint } from '../../../db/webhooks.ts';
import { workflows } from '../../../db/schema/workflows.ts';
import type { Tx } from '../../../db/tenant.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, projectArchivedError, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { endpointWithSecretSchema, toEndpoint } from '../schemas.ts';

export const createEndpointBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    projectId: z.uuid(),
    target: z.enum(webhookTargets),
    workflowId: z.uuid().optional(),
    enabled: z.boolean().default(true),
  })
  .refine((body) => (body.target === 'workflow_run') === (body.workflowId !== undefined), {
    message: 'workflowId is required for target workflow_run, and only for it.',
    path: ['workflowId'],
  })
  .openapi('CreateWebhookEndpoint', {
    example: { name: 'CRM deal updates', projectId: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d', target: 'decision_event', enabled: true },
  });

export const route = createRoute({
  method: 'post',
  path: '/v1/webhook-endpoints',
  security: SESSION_ONLY,
  tags: ['webhooks'],
  summary: 'Create an inbound webhook endpoint; its signing secret is shown once',
  request: { body: jsonBody(createEndpointBody) },
  responses: { 201: jsonResponse(endpointWithSecretSchema, 'The endpoint, with its secret.'), ...commonErrors, ...notFoundError, ...projectArchivedError },
});

/** The project (and workflow) must be the organization's own (others look missing), and the project not archived. */
async function assertTargets(tx: Tx, projectId: string, workflowId: string | null | undefined) {
  await holdProjectForWork(tx, { projectId });
  if (workflowId) {
    const [workflow] = await tx.select({ id: workflows.id }).from(workflows).where(and(eq(workflows.id, workflowId), eq(workflows.projectId, projectId)));
    if (!workflow) throw new ApiError('not_found', 'No workflow with this id in that project.');
  }
}

export function registerCreateEndpoint(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const input = c.req.valid('json');
    await assertTargets(c.var.tx, input.projectId, input.workflowId);
    const { row, secret } = await insertWebhookEndpoint(c.var.tx, c.get('platform').secretBox, c.var.org.id, input);
    // The audit snapshot never holds the secret, sealed or not.
    await audit(c, { action: 'webhook_endpoint.create', targetType: 'webhook_endpoint', targetId: row.id, data: { after: toEndpoint(row) } });
    return c.json({ ...toEndpoint(row), secret }, 201);
  });
}
