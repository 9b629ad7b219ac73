import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq } from 'drizzle-orm';
import { supportTranscripts, transcriptChannels } from '../../../db/schema/transcripts.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { toSummary, transcriptSummarySchema } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/support-transcripts',
  tags: ['support-transcripts'],
  summary: 'List support transcripts, newest first',
  request: { query: pageQuerySchema.extend({ channel: z.enum(transcriptChannels).optional().openapi({ example: 'widget' }) }) },
  responses: {
    200: jsonResponse(z.object({ data: z.array(transcriptSummarySchema), nextCursor: z.string().nullable() }).openapi('SupportTranscriptPage'), 'A page.'),
    ...commonErrors,
  },
});

export function registerListTranscripts(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { limit, cursor, channel } = c.req.valid('query');
    const after = decodeCursor(cursor);
    const rows = await c.var.tx
      .select()
      .from(supportTranscripts)
      .where(
        and(
          channel ? eq(supportTranscripts.channel, channel) : undefined,
          beforeCursor(supportTranscripts.createdAt, supportTranscripts.id, after),
        ),
      )
      .orderBy(desc(supportTranscripts.createdAt), desc(supportTranscripts.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toSummary), nextCursor: result.nextCursor }, 200);
  });
}
