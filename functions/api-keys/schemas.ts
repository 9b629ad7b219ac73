import { z } from '@hono/zod-openapi';

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: 'ci' }),
    prefix: z.string().openapi({ example: 'km_Qx3v9a', description: 'The first characters of the key, to recognise it.' }),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable().openapi({ description: 'Updated at most once a minute.' }),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

export const apiKeyIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
});

export function toApiKey(row: { id: string; name: string; prefix: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }) {
  return { id: row.id, name: row.name, prefix: row.prefix, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt, revokedAt: row.revokedAt };
}
