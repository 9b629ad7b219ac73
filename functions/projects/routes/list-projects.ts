import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { projects, projectStatuses } from '../../../db/schema/projects.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { projectSchema, toProject } from '../schemas.ts';

export const listProjectsQuery = pageQuerySchema.extend({
  status: z.enum(projectStatuses).optional().openapi({ example: 'active' }),
});

export const projectPageSchema = z
  .object({ data: z.array(projectSchema), nextCursor: z.string().nullable() })
  .openapi('ProjectPage');

export const route = createRoute({
  method: 'get',
  path: '/v1/projects',
  tags: ['projects'],
  summary: 'List projects, newest first',
  request: { query: listProjectsQuery },
  responses: { 200: jsonResponse(projectPageSchema, 'A page of projects.'), ...commonErrors },
});

export function registerListProjects(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { limit, cursor, status } = c.req.valid('query');
    const after = decodeCursor(cursor);
    // No org_id filter here on purpose: row-level security scopes the query to the
    // request's organization; the tenant tests prove it.
    const rows = await c.var.tx
      .select()
      .from(projects)
      .where(
        and(
          status ? eq(projects.status, status) : undefined,
          beforeCursor(projects.createdAt, projects.id, after),
        ),
      )
      .orderBy(...newestFirst(projects.createdAt, projects.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toProject), nextCursor: result.nextCursor }, 200);
  });
}
