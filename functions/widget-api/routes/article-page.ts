import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { helpdeskArticles } from '../../../db/schema/helpdesk.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { problem } from '../../../middleware/openapi.ts';
import { unknownWidget } from '../visitor-guard.ts';

export const route = createRoute({
  method: 'get',
  path: '/widget/v1/articles/{slug}',
  tags: ['widget-api'],
  summary: 'A published helpdesk article as a page: where the widget\'s citations link to (public)',
  request: {
    params: z.object({ slug: z.string().openapi({ param: { name: 'slug', in: 'path' }, example: 'deleting-your-organization' }) }),
    query: z.object({ key: z.string().openapi({ description: 'The public widget key.', example: 'pk_Qm9vZ2llV29vZ2llQm9vZ2llV29v' }) }),
  },
  responses: {
    200: { description: 'The article as HTML.', content: { 'text/html': { schema: z.string() } } },
    400: problem('A key or slug no article could have (a NUL character, say).'),
    404: problem('Unknown widget key, or no published article with this slug.'),
  },
});

const escape = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** Just enough Markdown for a readable page: headings, lists and paragraphs; everything else shown as written, escaped. */
function renderMarkdown(markdown: string) {
  return markdown
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => {
      const trimmed = block.trim();
      const heading = /^(#{1,6})\s+(.+)$/.exec(trimmed);
      if (heading && !trimmed.includes('\n')) {
        const level = Math.min(6, heading[1]!.length + 1);
        return `<h${level}>${escape(heading[2]!)}</h${level}>`;
      }
      if (trimmed.split('\n').every((line) => /^\s*[-*]\s+/.test(line))) {
        return `<ul>${trimmed.split('\n').map((line) => `<li>${escape(line.replace(/^\s*[-*]\s+/, ''))}</li>`).join('')}</ul>`;
      }
      return trimmed ? `<p>${escape(trimmed)}</p>` : '';
    })
    .join('\n');
}

export function registerArticlePage(app: FunctionApp) {
  app.openAPIRegistry.registerPath(route);
  app.get('/widget/v1/articles/:slug', app.named, async (c) => {
    const key = c.req.query('key') ?? '';
    const slug = c.req.param('slug');
    if (!key || key.length > 100 || slug.length > 80) throw unknownWidget();
    const article = await c.get('platform').database.withWidgetKey(key, async (tx, orgId) => {
      if (!orgId) return null;
      const [row] = await tx.select().from(helpdeskArticles).where(and(eq(helpdeskArticles.slug, slug), eq(helpdeskArticles.published, true)));
      return row ?? null;
    });
    if (!article) throw unknownWidget();
    const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(article.title)}</title><style>body{font:16px/1.6 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1f2328}</style></head>
<body><article><h1>${escape(article.title)}</h1>
${renderMarkdown(article.body)}</article></body></html>`;
    // Nothing on the page runs: no scripts, no outside resources.
    return c.html(page, 200, { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'", 'cache-control': 'public, max-age=60' });
  });
}
