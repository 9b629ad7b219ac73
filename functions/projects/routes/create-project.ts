import { createRoute, z } from '@hono/zod-openapi';
import { projects } from '../../../db/schema/projects.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse } from '../../../middleware/openapi.ts';
import { projectDescription, projectName, projectSchema, toProject } from '../schemas.ts';

export const createProjectBody = z
  .object({
    name: projectName.openapi({ example: 'Loan approvals' }),
    description: projectDescription.optional().openapi({ example: 'Credit decisions reviewed by the risk team.' }),
  })
  .openapi('CreateProject');

export const route = createRoute({
  method: 'post',
  path: '/v1/projects',
  tags: ['projects'],
  summary: 'Create a project',
  request: { body: jsonBody(createProjectBody) },
  responses: { 201: jsonResponse(projectSchema, 'The project was created.'), ...commonErrors },
});

export function registerCreateProject(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const input = c.req.valid('json');
    const [row] = await c.var.tx
      .insert(projects)
      .values({ orgId: c.var.org.id, name: input.name, description: input.description ?? null })
      .returning();
    await audit(c, { action: 'project.create', targetType: 'project', targetId: row!.id, data: { after: toProject(row!) } });
    return c.json(toProject(row!), 201);
  });
}
