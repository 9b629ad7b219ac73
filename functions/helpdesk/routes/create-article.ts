import { createRoute, z } from '@hono/zod-openapi';
import { insertArticle, toArticle } from '../../../db/helpdesk.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, problem } from '../../../middleware/openapi.ts';
import { articleFields, articleSchema } from '../schemas.ts';
import { slugConflict } from './slug-conflict.ts';

export const createArticleBody = z
  .object({
    title: articleFields.title,
    body: articleFields.body,
    slug: articleFields.slug.optional(),
    tags: articleFields.tags.default([]),
    published: articleFields.published.default(false),
  })
  .openapi('CreateHelpdeskArticle', { example: { title: 'Deleting your organization', body: '## What is removed\n\nEvery row of it.', tags: ['privacy'], published: true } });

export const route = createRoute({
  method: 'post',
  path: '/v1/helpdesk/articles',
  tags: ['helpdesk'],
  summary: 'Create a helpdesk article; a published one is indexed for the chat widget a moment later',
  request: { body: jsonBody(createArticleBody) },
  responses: { 201: jsonResponse(articleSchema, 'The article.'), ...commonErrors, 409: problem('Another article of the organization has this slug.') },
});

export function registerCreateArticle(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const input = c.req.valid('json');
    const row = await slugConflict(() => insertArticle(c.var.tx, c.var.org.id, input));
    await audit(c, { action: 'helpdesk_article.create', targetType: 'helpdesk_article', targetId: row.id, data: { after: toArticle(row) } });
    return c.json(toArticle(row), 201);
  });
}
