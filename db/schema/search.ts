import { sql } from 'drizzle-orm';
import { check, customType, foreignKey, index, integer, pgTable, primaryKey, real, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { decisionEvents } from './decisions.ts';
import { helpdeskArticles } from './helpdesk.ts';
import { orgIdColumn } from './organizations.ts';
import { supportTranscripts } from './transcripts.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

export const searchSourceTypes = ['decision_event', 'support_transcript', 'helpdesk_article'] as const;

/**
 * The embedding store: chunks of tenant text with a full-text vector and an
 * embedding (a plain real[]: the embedded Postgres has no pgvector). Each chunk
 * points at its source through a composite key, so it goes when the source goes.
 */
export const searchChunks = pgTable(
  'search_chunks',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    sourceType: text('source_type', { enum: searchSourceTypes }).notNull(),
    decisionEventId: uuid('decision_event_id'),
    transcriptId: uuid('transcript_id'),
    articleId: uuid('article_id'),
    chunkNo: integer('chunk_no').notNull(),
    content: text('content').notNull(),
    tsv: tsvector('tsv').generatedAlwaysAs(sql`to_tsvector('simple', content)`),
    embedding: real('embedding').array().notNull(),
    model: text('model').notNull(),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    foreignKey({ columns: [t.orgId, t.decisionEventId], foreignColumns: [decisionEvents.orgId, decisionEvents.id], name: 'search_chunks_decision_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.transcriptId], foreignColumns: [supportTranscripts.orgId, supportTranscripts.id], name: 'search_chunks_transcript_fk' }).onDelete('cascade'),
    foreignKey({ columns: [t.orgId, t.articleId], foreignColumns: [helpdeskArticles.orgId, helpdeskArticles.id], name: 'search_chunks_article_fk' }).onDelete('cascade'),
    index('search_chunks_org_source_idx').on(t.orgId, t.sourceType),
    index('search_chunks_decision_idx').on(t.orgId, t.decisionEventId).where(sql`${t.decisionEventId} is not null`),
    index('search_chunks_transcript_idx').on(t.orgId, t.transcriptId).where(sql`${t.transcriptId} is not null`),
    index('search_chunks_article_idx').on(t.orgId, t.articleId).where(sql`${t.articleId} is not null`),
    index('search_chunks_tsv_idx').using('gin', t.tsv),
    check(
      'search_chunks_one_source',
      sql`(${t.sourceType} = 'decision_event' and ${t.decisionEventId} is not null and ${t.transcriptId} is null and ${t.articleId} is null)
       or (${t.sourceType} = 'support_transcript' and ${t.transcriptId} is not null and ${t.decisionEventId} is null and ${t.articleId} is null)
       or (${t.sourceType} = 'helpdesk_article' and ${t.articleId} is not null and ${t.decisionEventId} is null and ${t.transcriptId} is null)`,
    ),
  ],
);
