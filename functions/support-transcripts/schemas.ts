import { z } from '@hono/zod-openapi';
import { messageRoles, transcriptChannels, type supportMessages, type supportTranscripts } from '../../db/schema/transcripts.ts';

export const citationSchema = z.object({ title: z.string().max(500), url: z.string().max(2000).optional() });

export const messageSchema = z
  .object({
    role: z.enum(messageRoles),
    content: z.string(),
    citations: z.array(citationSchema),
    sentAt: z.string(),
  })
  .openapi('SupportMessage');

export const transcriptSummarySchema = z
  .object({
    id: z.uuid(),
    channel: z.enum(transcriptChannels),
    visitorRef: z.string().nullable(),
    visitorVerified: z.boolean().openapi({ description: "True when the widget visitor's id was signed by the organization's own server." }),
    rating: z.number().int().nullable(),
    createdAt: z.string(),
  })
  .openapi('SupportTranscriptSummary');

export const transcriptSchema = transcriptSummarySchema.extend({ messages: z.array(messageSchema) }).openapi('SupportTranscript');

export const transcriptIdParams = z.object({
  id: z.uuid().openapi({ param: { name: 'id', in: 'path' }, example: '0b6f2a57-6f0a-4c43-9c1e-0e1b6f5b3f2d' }),
});

export function toSummary(row: typeof supportTranscripts.$inferSelect) {
  return { id: row.id, channel: row.channel, visitorRef: row.visitorRef, visitorVerified: row.visitorVerified, rating: row.rating, createdAt: row.createdAt };
}

export function toMessage(row: typeof supportMessages.$inferSelect) {
  return { role: row.role, content: row.content, citations: row.citations as z.infer<typeof citationSchema>[], sentAt: row.sentAt };
}
