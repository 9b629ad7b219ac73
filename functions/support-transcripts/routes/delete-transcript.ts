import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { supportTranscripts } from '../../../db/schema/transcripts.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, notFoundError } from '../../../middleware/openapi.ts';
import { toSummary, transcriptIdParams } from '../schemas.ts';

export const route = createRoute({
  method: 'delete',
  path: '/v1/support-transcripts/{id}',
  tags: ['support-transcripts'],
  summary: 'Delete a support transcript and its messages',
  request: { params: transcriptIdParams },
  responses: { 204: { description: 'Deleted.' }, ...commonErrors, ...notFoundError },
});

export function registerDeleteTranscript(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const { id } = c.req.valid('param');
    const [deleted] = await c.var.tx.delete(supportTranscripts).where(eq(supportTranscripts.id, id)).returning();
    if (!deleted) throw new ApiError('not_found', 'No support transcript with this id.');
    // The audit row keeps the fact of the deletion, not the conversation's content.
    await audit(c, { action: 'support_transcript.delete', targetType: 'support_transcript', targetId: id, data: { before: toSummary(deleted) } });
    return c.body(null, 204);
  });
}
