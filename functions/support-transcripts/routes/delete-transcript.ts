import { createRoute } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { supportTranscripts } from '../../../db/schema/transcripts.ts';
import { audit } from '../../../middleware/audit.ts';
import { ApiError } from '../../../middleware/errors.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, notFoundError, problem, SESSION_ONLY } from '../../../middleware/openapi.ts';
import { requireRole } from '../../../middleware/roles.ts';
import { toSummary, transcriptIdParams } from '../schemas.ts';

export const route = createRoute({
  method: 'delete',
  path: '/v1/support-transcripts/{id}',
  security: SESSION_ONLY,
  tags: ['support-transcripts'],
  summary: 'Delete a support transcript and its messages',
  description:
    'Deletes the conversation and its messages for good (the audit row keeps that it was deleted, not what was said). ' +
    'Only an owner or admin, signed in, may do this, as for deleting a project; other members and API keys may import, list and read transcripts.',
  request: { params: transcriptIdParams },
  responses: { 204: { description: 'Deleted.' }, ...commonErrors, ...notFoundError, 403: problem('Not a signed-in owner or admin of the organization (API keys cannot delete transcripts), or not over HTTPS.') },
});

export function registerDeleteTranscript(app: FunctionApp) {
  app.openapi(route, async (c) => {
    // Checked before the lookup, so a refused caller learns nothing of whether the transcript exists.
    requireRole(c, ['owner', 'admin']);
    const { id } = c.req.valid('param');
    const [deleted] = await c.var.tx.delete(supportTranscripts).where(eq(supportTranscripts.id, id)).returning();
    if (!deleted) throw new ApiError('not_found', 'No support transcript with this id.');
    // The audit row keeps the fact of the deletion, not the conversation's content.
    await audit(c, { action: 'support_transcript.delete', targetType: 'support_transcript', targetId: id, data: { before: toSummary(deleted) } });
    return c.body(null, 204);
  });
}
