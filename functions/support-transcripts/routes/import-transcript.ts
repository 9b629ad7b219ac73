import { createRoute, z } from '@hono/zod-openapi';
import { messageRoles, supportMessages, supportTranscripts, transcriptChannels } from '../../../db/schema/transcripts.ts';
import { queueIndex } from '../../../db/search/index.ts';
import { audit } from '../../../middleware/audit.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, dateTimeSchema, jsonBody, jsonResponse } from '../../../middleware/openapi.ts';
import { citationSchema, toMessage, toSummary, transcriptSchema, VISITOR_REF_MAX } from '../schemas.ts';

export const importTranscriptBody = z
  .object({
    channel: z.enum(transcriptChannels).default('import'),
    visitorRef: z.string().max(VISITOR_REF_MAX).optional(),
    rating: z.number().int().min(1).max(5).optional(),
    messages: z
      .array(
        z.object({
          role: z.enum(messageRoles),
          content: z.string().min(1).max(20_000),
          citations: z.array(citationSchema).max(20).default([]),
          sentAt: dateTimeSchema().optional(),
        }),
      )
      .min(1)
      .max(500),
  })
  .openapi('ImportSupportTranscript', {
    example: { channel: 'email', visitorRef: 'ticket-4411', messages: [{ role: 'visitor', content: 'Where is my data stored?' }, { role: 'agent', content: 'In the EU.' }] },
  });

export const route = createRoute({
  method: 'post',
  path: '/v1/support-transcripts',
  tags: ['support-transcripts'],
  summary: 'Import a support conversation with its messages',
  request: { body: jsonBody(importTranscriptBody) },
  responses: { 201: jsonResponse(transcriptSchema, 'The stored transcript.'), ...commonErrors },
});

export function registerImportTranscript(app: FunctionApp) {
  app.openapi(route, async (c) => {
    const input = c.req.valid('json');
    const orgId = c.var.org.id;
    const [transcript] = await c.var.tx
      .insert(supportTranscripts)
      .values({ orgId, channel: input.channel, visitorRef: input.visitorRef ?? null, rating: input.rating ?? null })
      .returning();
    const messages = await c.var.tx
      .insert(supportMessages)
      .values(
        input.messages.map((m, position) => ({
          orgId,
          transcriptId: transcript!.id,
          position,
          role: m.role,
          content: m.content,
          citations: m.citations,
          ...(m.sentAt ? { sentAt: m.sentAt } : {}),
        })),
      )
      .returning();
    await queueIndex(c.var.tx, { type: 'support_transcript', id: transcript!.id });
    await audit(c, {
      action: 'support_transcript.import',
      targetType: 'support_transcript',
      targetId: transcript!.id,
      data: { channel: input.channel, messages: messages.length },
    });
    return c.json({ ...toSummary(transcript!), messages: messages.map(toMessage) }, 201);
  });
}
