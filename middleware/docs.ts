import { readFile } from 'node:fs/promises';
import path from 'node:path';
// The package's main file loads the whole Swagger UI bundle (~1.7 MB) into every server; only its folder is needed.
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import type { Hono } from 'hono';
import type { AppEnv } from './env.ts';

const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Kommit API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true });`;

/**
 * The interactive API reference at /docs. Swagger UI's files are served from the
 * installed package, so the page works without reaching any CDN.
 */
export function mountDocs(app: Hono<AppEnv>) {
  const assets = new Map<string, Promise<string>>();
  app.get('/docs', (c) =>
    c.html(PAGE, 200, {
      'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    }),
  );
  app.get('/docs/assets/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file') as keyof typeof ASSETS;
    if (!(file in ASSETS)) return c.notFound();
    if (!assets.has(file)) assets.set(file, readFile(path.join(getAbsoluteFSPath(), file), 'utf8'));
    return c.body(await assets.get(file)!, 200, { 'content-type': ASSETS[file], 'cache-control': 'public, max-age=3600' });
  });
}
