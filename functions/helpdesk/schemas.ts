import { z } from '@hono/zod-openapi';

const ARTICLE_ID = '6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

export const articleIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: ARTICLE_ID }),
});

export const slugSchema = z
  .string()
  .min(1)
  .max(80)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lower-case letters and digits, joined by single hyphens')
  .openapi({ example: 'deleting-your-organization' });

export const articleFields = {
  title: z.string().trim().min(1).max(300).openapi({ example: 'Deleting your organization' }),
  body: z.string().max(100_000).openapi({ description: 'Markdown. Headings cut it into the passages the widget cites.', example: '## What is removed\n\nEverything.' }),
  slug: slugSchema,
  tags: z.array(z.string().trim().min(1).max(50)).max(20).openapi({ example: ['privacy'] }),
  published: z.boolean().openapi({ description: 'Only published articles are indexed and answered from.', example: true }),
};

export const articleSchema = z
  .object({
    id: z.uuid().openapi({ example: ARTICLE_ID }),
    slug: z.string(),
    title: z.string(),
    body: z.string(),
    tags: z.array(z.string()),
    published: z.boolean(),
    publishedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('HelpdeskArticle');
