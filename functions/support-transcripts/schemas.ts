import { z } from '@hono/zod-openapi';
import { messageRoles, transcriptChannels, type supportMessages, type supportTranscripts } from '../../db/schema/transcripts.ts';

/**
 * An absolute http(s) URL, or a path on this site; never "//host", "/\\host"
 * or "/<tab>/host", which browsers read as another site (they drop tabs and
 * newlines from URLs, and take a backslash for a slash).
 */
function isWebLink(url: string) {
  if (/[\s\\\x00-\x1f]/.test(url)) return false;
  if (url.startsWith('/')) return !url.startsWith('//');
  return /^https?:\/\//i.test(url) && URL.canParse(url);
}

/** The longest visitor reference a transcript takes (the widget's visitor ids are bounded alike), and so the longest one a filter may name. */
export const VISITOR_REF_MAX = 200;

// Only web links: a client that renders an imported citation as a link must never get a javascript: or data: URL from us.
export const citationSchema = z.object({
  title: z.string().max(500),
  url: z
    .string()
    .max(2000)
    .refine(isWebLink, 'a citation links to an http(s) URL or to a path on this site (/...)')
    .optional()
    .openapi({ example: 'https://help.example.com/articles/refunds' }),
});

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
