import { asc, eq } from 'drizzle-orm';
import { decisionEvents } from '../schema/decisions.ts';
import { helpdeskArticles } from '../schema/helpdesk.ts';
import { supportMessages, supportTranscripts } from '../schema/transcripts.ts';
import type { Tx } from '../tenant.ts';
import type { SearchSource } from './index.ts';

/**
 * The text a source is searched by, or null when the source no longer exists.
 *
 * With `lock`, the source stays locked until the transaction ends, before the
 * indexer touches any chunk of it. An article (the one source whose text
 * changes in place) is locked FOR SHARE: an edit or unpublish then waits for
 * the indexer's write instead of slipping in before it. Decision events and
 * transcripts are only ever deleted (with their project, or on their own), so
 * FOR KEY SHARE is enough, and it is needed: a deletion holds the source and
 * then waits for the chunks it cascades to, so an indexer that had removed the
 * old chunks first and only then reached the source (through the new chunks'
 * foreign key) would deadlock with it.
 */
export async function sourceText(tx: Tx, source: SearchSource, { lock = false } = {}): Promise<string | null> {
  if (source.type === 'decision_event') {
    const query = tx.select().from(decisionEvents).where(eq(decisionEvents.id, source.id));
    const [event] = await (lock ? query.for('key share') : query);
    return event ? [event.title, event.rationale, event.outcome].filter(Boolean).join('\n\n') : null;
  }
  if (source.type === 'helpdesk_article') {
    // Drafts are never indexed: an unpublished article reads as gone.
    const query = tx.select().from(helpdeskArticles).where(eq(helpdeskArticles.id, source.id));
    const [article] = await (lock ? query.for('share') : query);
    return article?.published ? articleText(article.title, article.body) : null;
  }
  const transcriptQuery = tx.select({ id: supportTranscripts.id }).from(supportTranscripts).where(eq(supportTranscripts.id, source.id));
  const [transcript] = await (lock ? transcriptQuery.for('key share') : transcriptQuery);
  if (!transcript) return null;
  const messages = await tx
    .select({ content: supportMessages.content })
    .from(supportMessages)
    .where(eq(supportMessages.transcriptId, source.id))
    .orderBy(asc(supportMessages.position));
  return messages.map((m) => m.content).join('\n\n');
}

/** An article as indexed: its title as the top heading, then its Markdown body (see chunkMarkdown). */
export function articleText(title: string, body: string) {
  return `# ${title}\n\n${body}`;
}
