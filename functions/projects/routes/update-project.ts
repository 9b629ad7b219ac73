import { createRoute, z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { projects, projectStatuses } from '../../../db/schema/projects.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { projectDescription, projectIdParams, projectName, projectSchema, toProject } from '../schemas.ts';

export const updateProjectBody = z
  .object({
    name: projectName.optional(),
    description: projectDescription.optional(),
    status: z.enum(projectStatuses).optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateProject', { example: { status: 'archived' } });

export const route = createRoute({
  method: 'patch',
  path: '/v1/projects/{id}',
  tags: ['projects'],
  summary: 'Change a project (name, description, status)',
  request: { params: projectIdParams, body: jsonBody(updateProjectBody) },
  responses: { 200: jsonResponse(projectSchema, 'The changed project.'), ...commonErrors, ...notFoundError },
});

export function registerUpdateProject(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    // Locked so the snapshot of what changed is the state this update replaced.
    const [before] = await c.var.tx.select().from(projects).where(eq(projects.id, id)).for('update');
    if (!before) throw new ApiError('not_found', 'No project with this id.');
    const [row] = await c.var.tx
      .update(projects)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(projects.id, id))
      .returning();
    await audit(c, { action: 'project.update', targetType: 'project', targetId: id, data: { before: toProject(before), after: toProject(row!), changes } });
    return c.json(toProject(row!), 200);
  });
}
