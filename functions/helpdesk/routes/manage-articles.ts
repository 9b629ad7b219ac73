import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { toArticle, updateArticle } from '../../../db/helpdesk.ts';
import { helpdeskArticles } from '../../../db/schema/helpdesk.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, notFoundError, problem } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { articleFields, articleIdParams, articleSchema } from '../schemas.ts';
import { slugConflict } from './slug-conflict.ts';

const articlePage = z.object({ data: z.array(articleSchema), nextCursor: z.string().nullable() }).openapi('HelpdeskArticlePage');

export const listQuery = pageQuerySchema.extend({
  published: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true'))
    .openapi({ type: 'string', enum: ['true', 'false'], example: 'true' }),
});

export const listRoute = createRoute({
  method: 'get',
  path: '/v1/helpdesk/articles',
  tags: ['helpdesk'],
  summary: 'List helpdesk articles, newest first',
  request: { query: listQuery },
  responses: { 200: jsonResponse(articlePage, 'A page of articles.'), ...commonErrors },
});

export const getRoute = createRoute({
  method: 'get',
  path: '/v1/helpdesk/articles/{id}',
  tags: ['helpdesk'],
  summary: 'Read a helpdesk article',
  request: { params: articleIdParams },
  responses: { 200: jsonResponse(articleSchema, 'The article.'), ...commonErrors, ...notFoundError },
});

export const updateBody = z
  .object({
    title: articleFields.title.optional(),
    body: articleFields.body.optional(),
    slug: articleFields.slug.optional(),
    tags: articleFields.tags.optional(),
    published: articleFields.published.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'Name at least one field to change.' })
  .openapi('UpdateHelpdeskArticle', { example: { published: false } });

export const updateRoute = createRoute({
  method: 'patch',
  path: '/v1/helpdesk/articles/{id}',
  tags: ['helpdesk'],
  summary: 'Change an article; publishing indexes it, unpublishing removes its passages at once',
  request: { params: articleIdParams, body: jsonBody(updateBody) },
  responses: {
    200: jsonResponse(articleSchema, 'The changed article.'),
    ...commonErrors,
    ...notFoundError,
    409: problem('Another article of the organization has this slug.'),
  },
});

export const deleteRoute = createRoute({
  method: 'delete',
  path: '/v1/helpdesk/articles/{id}',
  tags: ['helpdesk'],
  summary: 'Delete an article and its passages',
  request: { params: articleIdParams },
  responses: { 200: jsonResponse(articleSchema, 'The deleted article.'), ...commonErrors, ...notFoundError },
});

const notFound = () => new ApiError('not_found', 'No helpdesk article with this id.');

export function registerManageArticles(app: FunctionApp) {
  app.openapi(listRoute, async (c) => {
    const { limit, cursor, published } = c.req.valid('query');
    const rows = await c.var.tx
      .select()
      .from(helpdeskArticles)
      .where(
        and(
          published === undefined ? undefined : eq(helpdeskArticles.published, published),
          beforeCursor(helpdeskArticles.createdAt, helpdeskArticles.id, decodeCursor(cursor)),
        ),
      )
      .orderBy(...newestFirst(helpdeskArticles.createdAt, helpdeskArticles.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toArticle), nextCursor: result.nextCursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const [row] = await c.var.tx.select().from(helpdeskArticles).where(eq(helpdeskArticles.id, c.req.valid('param').id));
    if (!row) throw notFound();
    return c.json(toArticle(row), 200);
  });

  app.openapi(updateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const result = await slugConflict(() => updateArticle(c.var.tx, id, changes));
    if (!result) throw notFound();
    await audit(c, {
      action: 'helpdesk_article.update',
      targetType: 'helpdesk_article',
      targetId: id,
      data: { before: toArticle(result.before), after: toArticle(result.after), changes: Object.keys(changes) },
    });
    return c.json(toArticle(result.after), 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    // Its passages go with it (ON DELETE CASCADE on search_chunks).
    const [row] = await c.var.tx.delete(helpdeskArticles).where(eq(helpdeskArticles.id, id)).returning();
    if (!row) throw notFound();
    await audit(c, { action: 'helpdesk_article.delete', targetType: 'helpdesk_article', targetId: id, data: { before: toArticle(row) } });
    return c.json(toArticle(row), 200);
  });
}
