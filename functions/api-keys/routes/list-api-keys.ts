import { createRoute, z } from '@hono/zod-openapi';
import { desc } from 'drizzle-orm';
import { apiKeys } from '../../../db/schema/api-keys.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { apiKeySchema, toApiKey } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  tags: ['api-keys'],
  summary: "List this organization's API keys (prefix and last use only, never the key)",
  responses: { 200: jsonResponse(z.object({ data: z.array(apiKeySchema) }).openapi('ApiKeyList'), 'The keys, newest first.'), ...commonErrors },
});

export function registerListApiKeys(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const rows = await c.var.tx.select().from(apiKeys).orderBy(desc(apiKeys.createdAt)).limit(500);
    return c.json({ data: rows.map(toApiKey) }, 200);
  });
}
