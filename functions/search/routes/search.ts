import { createRoute, z } from '@hono/zod-openapi';
import { wordsOf } from '../../../db/search/embedder.ts';
import { embedQuery, hybridSearch } from '../../../db/search/index.ts';
import { searchSourceTypes } from '../../../db/schema/search.ts';
import type { FunctionApp } from '../../../middleware/function-app.ts';
import { commonErrors, jsonResponse } from '../../../middleware/openapi.ts';
import { AccessGone, callerTransactions } from '../../../middleware/tenant-transaction.ts';

export const searchQuery = z.object({
  q: z.string().trim().min(1).max(500).openapi({ example: 'EU data residency' }),
  types: z
    .string()
    .optional()
    .transform((value, ctx) => {
      const types = value ? value.split(',').map((t) => t.trim()) : [...searchSourceTypes];
      const unknown = types.filter((t) => !(searchSourceTypes as readonly string[]).includes(t));
      if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown type(s) ${unknown.join(', ')}; use ${searchSourceTypes.join(', ')}` });
      return types;
    })
    .openapi({ type: 'string', example: 'decision_event,support_transcript' }),
  limit: z.coerce.number().int().min(1).max(50).default(10).openapi({ example: 10 }),
});

const hitSchema = z
  .object({
    source: z.object({ type: z.enum(searchSourceTypes), id: z.uuid() }),
    chunkNo: z.number().int(),
    snippet: z.string(),
    score: z.number().openapi({ description: 'Reciprocal-rank fusion score.' }),
    ranks: z.object({ text: z.number().int().nullable(), vector: z.number().int().nullable() }),
  })
  .openapi('SearchHit');

export const route = createRoute({
  method: 'get',
  path: '/v1/search',
  tags: ['search'],
  summary: "Hybrid search (full text + vectors, fused by reciprocal rank) over the organization's decision events and transcripts",
  request: { query: searchQuery },
  responses: { 200: jsonResponse(z.object({ data: z.array(hitSchema) }).openapi('SearchResults'), 'The best passages, best first.'), ...commonErrors },
});

export function registerSearch(app: FunctionApp) {
  app.openapiWithCallerTransactions(route, async (c) => {
    const { q, types, limit } = c.req.valid('query');
    const { embedder, vectorScoring } = c.get('platform');
    // Embedded before the search's transaction opens (see embedQuery).
    const query = await embedQuery(embedder, q);
    // A full vector scan costs about 30 us per chunk without pgvector. A lexical
    // embedder's vectors only restate shared words, so its vectors are ranked
    // among the 500 passages that match the query words best; a passage sharing
    // no word could not rank by vector anyway. A semantic embedder gets the full scan.
    const words = wordsOf(q);
    const data = await callerTransactions(c)(async (tx) => {
      const scoring = await vectorScoring(tx);
      return hybridSearch(tx, query, embedder.lexical ? { types, limit, anyTerms: words.slice(0, 20), vectorWithinText: 500, scoring } : { types, limit, scoring });
    });
    if (data instanceof AccessGone) throw data.problem();
    return c.json({ data }, 200);
  });
}
