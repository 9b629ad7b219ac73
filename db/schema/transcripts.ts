import { sql } from 'drizzle-orm';
import { boolean, check, foreignKey, index, integer, jsonb, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';

export const transcriptChannels = ['widget', 'email', 'chat', 'phone', 'import'] as const;
export const messageRoles = ['visitor', 'assistant', 'agent', 'system'] as const;

/** A support conversation of an organization (the chat widget writes these; they can also be imported). */
export const supportTranscripts = pgTable(
  'support_transcripts',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    channel: text('channel', { enum: transcriptChannels }).notNull(),
    visitorRef: text('visitor_ref'),
    /** The widget's visitor id was signed by the organization's own server (identity verification). */
    visitorVerified: boolean('visitor_verified').notNull().default(false),
    rating: integer('rating'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    index('support_transcripts_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    // One visitor's transcripts, newest first, without walking the organization's whole list (GET ?visitorRef=).
    index('support_transcripts_org_visitor_created_idx')
      .on(t.orgId, t.visitorRef, t.createdAt.desc(), t.id.desc())
      .where(sql`${t.visitorRef} is not null`),
    check('support_transcripts_rating_check', sql`${t.rating} is null or ${t.rating} between 1 and 5`),
  ],
);

export const supportMessages = pgTable(
  'support_messages',
  {
    orgId: orgIdColumn(),
    transcriptId: uuid('transcript_id').notNull(),
    position: integer('position').notNull(),
    role: text('role', { enum: messageRoles }).notNull(),
    content: text('content').notNull(),
    citations: jsonb('citations').notNull().default([]),
    sentAt: timestampColumn('sent_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.transcriptId, t.position] }),
    foreignKey({ columns: [t.orgId, t.transcriptId], foreignColumns: [supportTranscripts.orgId, supportTranscripts.id], name: 'support_messages_transcript_fk' }).onDelete('cascade'),
  ],
);
