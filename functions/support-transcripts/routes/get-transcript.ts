import { createRoute } from '@hono/zod-openapi';
import { asc, eq } from 'drizzle-orm';
import { supportMessages, supportTranscripts } from '../../../db/schema/transcripts.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse, notFoundError } from '../../../middleware/openapi.ts';
import { toMessage, toSummary, transcriptIdParams, transcriptSchema } from '../schemas.ts';

export const route = createRoute({
  method: 'get',
  path: '/v1/support-transcripts/{id}',
  tags: ['support-transcripts'],
  summary: 'Read a support transcript with its messages',
  request: { params: transcriptIdParams },
  responses: { 200: jsonResponse(transcriptSchema, 'The transcript.'), ...commonErrors, ...notFoundError },
});

export function registerGetTranscript(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [transcript] = await c.var.tx.select().from(supportTranscripts).where(eq(supportTranscripts.id, id));
    if (!transcript) throw new ApiError('not_found', 'No support transcript with this id.');
    const messages = await c.var.tx.select().from(supportMessages).where(eq(supportMessages.transcriptId, id)).orderBy(asc(supportMessages.position));
    return c.json({ ...toSummary(transcript), messages: messages.map(toMessage) }, 200);
  });
}
