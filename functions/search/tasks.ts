import { z } from 'zod';
import { ne } from 'drizzle-orm';
import type { KommitTaskList } from '../../db/jobs/worker.ts';
import { searchChunks, searchSourceTypes } from '../../db/schema/search.ts';
import { clearIndex, prepareIndex, queueIndex, writeIndex } from '../../db/search/index.ts';
import { sourceText } from '../../db/search/sources.ts';
import { chunkMarkdown } from '../../db/search/markdown.ts';

const indexPayload = z.object({ orgId: z.uuid(), type: z.enum(searchSourceTypes), id: z.uuid() });

/** Background work of the search function: keeping the embedding store in step with its sources. */
export const searchTasks: KommitTaskList = {
  /** (Re)indexes one source; queued in the transaction that wrote it. */
  'search.index': async (payload, { database, embedder }) => {
    const { orgId, type, id } = indexPayload.parse(payload);
    const source = { type, id };
    const text = await database.withTenant(orgId, (tx) => sourceText(tx, source));
    // Embedding may call a remote service: no transaction stays open meanwhile.
    // Articles are cut at their headings, so a passage is one section and cites cleanly.
    const prepared = text === null ? null : await prepareIndex(embedder, text, type === 'helpdesk_article' ? chunkMarkdown : undefined);
    await database.withTenant(orgId, async (tx) => {
      // Read again with the source locked until commit, so an unpublish cannot land between this check and the write.
      const current = await sourceText(tx, source, { lock: true });
      // Unpublished or deleted: no chunks may stay (a racing indexer may have written some after the unpublish removed them).
      if (current === null) await clearIndex(tx, source);
      // Written only if the source still has this text; a change since queued a newer job.
      else if (current === text) await writeIndex(tx, orgId, source, prepared!);
    });
  },

  /** Queues re-indexing of every source whose chunks another embedding model made (run at worker start). */
  'search.reembed': async (_payload, { database, embedder, logger }) => {
    const orgs = await database.sql<{ org: string }[]>`select org from kommit_orgs_with_stale_embeddings(${embedder.model}) as org`;
    for (const { org } of orgs) {
      const queued = await database.withTenant(org, async (tx) => {
        const stale = await tx
          .selectDistinct({ type: searchChunks.sourceType, decisionEventId: searchChunks.decisionEventId, transcriptId: searchChunks.transcriptId, articleId: searchChunks.articleId })
          .from(searchChunks)
          .where(ne(searchChunks.model, embedder.model));
        for (const s of stale) await queueIndex(tx, { type: s.type, id: (s.decisionEventId ?? s.transcriptId ?? s.articleId)! });
        return stale.length;
      });
      logger.info({ orgId: org, sources: queued, model: embedder.model }, 're-embedding queued');
    }
  },
};
