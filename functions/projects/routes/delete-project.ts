import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, notFoundError } from '../../../middleware/openapi.ts';
import { projectIdParams, toProject } from '../schemas.ts';

export const route = createRoute({
  method: 'delete',
  path: '/v1/projects/{id}',
  tags: ['projects'],
  summary: 'Delete a project',
  request: { params: projectIdParams },
  responses: { 204: { description: 'The project was deleted.' }, ...commonErrors, ...notFoundError },
});

export function registerDeleteProject(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [deleted] = await c.var.tx.delete(projects).where(eq(projects.id, id)).returning();
    if (!deleted) throw new ApiError('not_found', 'No project with this id.');
    await audit(c, { action: 'project.delete', targetType: 'project', targetId: id, data: { before: toProject(deleted) } });
    return c.body(null, 204);
  });
}
