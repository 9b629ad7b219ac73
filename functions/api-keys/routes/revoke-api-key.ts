import { createRoute } from '@hono/zod-openapi';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { apiKeys } from '../../../db/schema/api-keys.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { apiKeyIdParams, apiKeySchema, toApiKey } from '../schemas.ts';

export const route = createRoute({
  method: 'delete',
  path: '/v1/api-keys/{id}',
  security: SESSION_ONLY,
  tags: ['api-keys'],
  summary: 'Revoke an API key; its next request fails',
  request: { params: apiKeyIdParams },
  responses: { 200: jsonResponse(apiKeySchema, 'The revoked key.'), ...commonErrors, ...notFoundError },
});

export function registerRevokeApiKey(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const [row] = await c.var.tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) throw new ApiError('not_found', 'No active API key with this id.');
    await audit(c, { action: 'api_key.revoke', targetType: 'api_key', targetId: id, data: { after: toApiKey(row) } });
    return c.json(toApiKey(row), 200);
  });
}
