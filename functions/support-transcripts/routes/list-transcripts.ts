import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { supportTranscripts, transcriptChannels } from '../../../db/schema/transcripts.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { beforeCursor, decodeCursor, newestFirst, page, pageQuerySchema } from '../../../middleware/pagination.ts';
import { toSummary, transcriptSummarySchema, VISITOR_REF_MAX } from '../schemas.ts';

const listQuery = pageQuerySchema.extend({
  channel: z.enum(transcriptChannels).optional().openapi({ example: 'widget' }),
  visitorRef: z
    .string()
    .max(VISITOR_REF_MAX)
    .optional()
    .openapi({ description: 'Only the transcripts of this visitor: the visitorRef they were stored with, matched exactly (case and all).', example: 'ticket-4411' }),
});

export const route = createRoute({
  method: 'get',
  path: '/v1/support-transcripts',
  tags: ['support-transcripts'],
  summary: 'List support transcripts, newest first',
  request: { query: listQuery },
  responses: {
    200: jsonResponse(z.object({ data: z.array(transcriptSummarySchema), nextCursor: z.string().nullable() }).openapi('SupportTranscriptPage'), 'A page.'),
    ...commonErrors,
  },
});

export function registerListTranscripts(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { limit, cursor, channel, visitorRef } = c.req.valid('query');
    const rows = await c.var.tx
      .select()
      .from(supportTranscripts)
      .where(
        and(
          channel ? eq(supportTranscripts.channel, channel) : undefined,
          // An empty reference is one a transcript can be stored with, so it filters too.
          visitorRef !== undefined ? eq(supportTranscripts.visitorRef, visitorRef) : undefined,
          beforeCursor(supportTranscripts.createdAt, supportTranscripts.id, decodeCursor(cursor)),
        ),
      )
      .orderBy(...newestFirst(supportTranscripts.createdAt, supportTranscripts.id))
      .limit(limit + 1);
    const result = page(rows, limit);
    return c.json({ data: result.data.map(toSummary), nextCursor: result.nextCursor }, 200);
  });
}
