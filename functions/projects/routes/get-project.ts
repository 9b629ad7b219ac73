import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { projects } from '../../../db/schema/projects.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { projectIdParams, projectSchema, toProject } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/projects/{id}',
  tags: ['projects'],
  summary: 'Get a project',
  request: { params: projectIdParams },
  responses: { 200: jsonResponse(projectSchema, 'The project.'), ...commonErrors, ...notFoundError },
});

export function registerGetProject(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [row] = await c.var.tx.select().from(projects).where(eq(projects.id, id));
    if (!row) throw new ApiError('not_found', 'No project with this id.');
    return c.json(toProject(row), 200);
  });
}
