import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { WIDGET_SCRIPT } from '../widget-script.ts';

export const route = createRoute({
  method: 'get',
  path: '/widget.js',
  tags: ['widget-api'],
  summary: 'The chat widget script to embed with one <script> tag carrying data-key (public)',
  responses: {
    200: { description: 'JavaScript.', content: { 'text/javascript': { schema: z.string() } } },
    304: { description: 'Not modified: If-None-Match named the current ETag.' },
  },
});

const ETAG = `"${createHash('sha256').update(WIDGET_SCRIPT).digest('base64url').slice(0, 22)}"`;

export function registerServeScript(app: FunctionApp) {
  app.openAPIRegistry.registerPath(route);
  app.get('/widget.js', app.named, (c) => {
    const headers = {
      'content-type': 'text/javascript; charset=utf-8',
      // Loaded by customers' pages, which are other origins.
      'cross-origin-resource-policy': 'cross-origin',
      'cache-control': 'public, max-age=300',
      etag: ETAG,
    };
    if (c.req.header('if-none-match') === ETAG) return c.body(null, 304, headers);
    return c.body(WIDGET_SCRIPT, 200, headers);
  });
}
