import { createRoute } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { projectIdParams, toProject } from '../schemas.ts';

export const route = createRoute({
  method: 'delete',
  path: '/v1/projects/{id}',
  security: SESSION_ONLY,
  tags: ['projects'],
  summary: 'Delete a project',
  description:
    'Deletes the project and everything that belongs to it: its workflows and their runs, its decision events and its webhook endpoints with their deliveries. ' +
    'Only an owner or admin, signed in, may do this; archiving (PATCH status) is open to every member and API key.',
  request: { params: projectIdParams },
  responses: { 204: { description: 'The project was deleted.' }, ...commonErrors, ...notFoundError, 403: problem('Not a signed-in owner or admin of the organization (API keys cannot delete projects), or not over HTTPS.') },
});

export function registerDeleteProject(app: FunctionApp) {
  app.openapi(route, async (c) => {
    // The cascade takes decision events (append-only otherwise) and webhook
    // endpoints (owner/admin to delete otherwise) with it: as strong a need as theirs.
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    // What the cascade will take, for the audit row. The project row is locked
    // as it is counted, so nothing can be added under it before it goes;
    // row-level security keeps the counts (and the lock) to this organization.
    const [cascaded] = await c.var.tx.execute<{ workflows: number; workflowRuns: number; decisionEvents: number; webhookEndpoints: number }>(sql`
      select
        (select count(*)::int from workflows where project_id = p.id) as "workflows",
        (select count(*)::int from workflow_runs r join workflows w on w.org_id = r.org_id and w.id = r.workflow_id where w.project_id = p.id) as "workflowRuns",
        (select count(*)::int from decision_events where project_id = p.id) as "decisionEvents",
        (select count(*)::int from webhook_endpoints where project_id = p.id) as "webhookEndpoints"
      from projects p where p.id = ${id} for update of p`);
    if (!cascaded) throw new ApiError('not_found', 'No project with this id.');
    const [deleted] = await c.var.tx.delete(projects).where(eq(projects.id, id)).returning();
    if (!deleted) throw new ApiError('not_found', 'No project with this id.');
    await audit(c, { action: 'project.delete', targetType: 'project', targetId: id, data: { before: toProject(deleted), cascaded } });
    return c.body(null, 204);
  });
}
