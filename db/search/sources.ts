import { asc, eq } from 'drizzle-orm';
import { decisionEvents } from '../schema/decisions.ts';
import { supportMessages, supportTranscripts } from '../schema/transcripts.ts';
import type { Tx } from '../tenant.ts';
import type { SearchSource } from './index.ts';

/** The text a source is searched by, or null when the source no longer exists. */
export async function sourceText(tx: Tx, source: SearchSource): Promise<string | null> {
  if (source.type === 'decision_event') {
    const [event] = await tx.select().from(decisionEvents).where(eq(decisionEvents.id, source.id));
    return event ? [event.title, event.rationale, event.outcome].filter(Boolean).join('\n\n') : null;
  }
  const [transcript] = await tx.select({ id: supportTranscripts.id }).from(supportTranscripts).where(eq(supportTranscripts.id, source.id));
  if (!transcript) return null;
  const messages = await tx
    .select({ content: supportMessages.content })
    .from(supportMessages)
    .where(eq(supportMessages.transcriptId, source.id))
    .orderBy(asc(supportMessages.position));
  return messages.map((m) => m.content).join('\n\n');
}
