import { createRoute, z } from '@hono/zod-openapi';
import { and, isNotNull, isNull } from 'drizzle-orm';
import { apiKeys } from '../../../db/schema/api-keys.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { apiKeySchema, toApiKey } from '../schemas.ts';

export const listApiKeysQuery = pageQuerySchema.extend({
  revoked: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .openapi({ description: 'Only revoked keys (true) or only keys still in use (false).', example: 'false' }),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/api-keys',
  security: SESSION_ONLY,
  tags: ['api-keys'],
  summary: "List this organization's API keys (prefix and last use only, never the key), newest first",
  request: { query: listApiKeysQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(apiKeySchema), nextCursor: z.string().nullable() }).openapi('ApiKeyList'), 'A page of keys, newest first.'),
    ...commonErrors,
  },
});

export function registerListApiKeys(app: FunctionApp) {
  app.openapi(route, async (c) => {
    requireRole(c, ['owner', 'admin']);
    const { limit, cursor, revoked } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const rows = await c.var.tx
      .select()
      .from(apiKeys)
      .where(
        and(
          revoked === undefined ? undefined : revoked ? isNotNull(apiKeys.revokedAt) : isNull(apiKeys.revokedAt),
          beforeCursor(apiKeys.createdAt, apiKeys.id, after),
        ),
      )
      .orderBy(...newestFirst(apiKeys.createdAt, apiKeys.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toApiKey), nextCursor: result.nextCursor }, 200);
  });
}
