import { createRoute, z } from '@hono/zod-openapi';
import { generateApiKey } from '../../../auth/api-keys.ts';
import { apiKeys } from '../../../db/schema/api-keys.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonBody, jsonResponse, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { apiKeySchema, toApiKey } from '../schemas.ts';

export const createApiKeyBody = z.object({ name: z.string().trim().min(1).max(100).openapi({ example: 'ci' }) }).openapi('CreateApiKey');

export const createdApiKeySchema = apiKeySchema
  .extend({ key: z.string().openapi({ description: 'The full key. Shown this once; only its hash is stored.' }) })
  .openapi('CreatedApiKey');

export const route = createRoute({
  method: 'post',
  path: '/v1/api-keys',
  security: SESSION_ONLY,
  tags: ['api-keys'],
  summary: 'Create an API key for this organization (owners and admins)',
  request: { body: jsonBody(createApiKeyBody) },
  responses: { 201: jsonResponse(createdApiKeySchema, 'The key; store it now.'), ...commonErrors },
});

export function registerCreateApiKey(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const key = generateApiKey();
    const [row] = await c.var.tx
      .insert(apiKeys)
      .values({ orgId: c.var.org.id, name: c.req.valid('json').name, prefix: key.prefix, keyHash: key.hash })
      .returning();
    await audit(c, { action: 'api_key.create', targetType: 'api_key', targetId: row!.id, data: { after: toApiKey(row!) } });
    return c.json({ ...toApiKey(row!), key: key.key }, 201);
  });
}
