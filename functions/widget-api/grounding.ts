import { and, eq, inArray } from 'drizzle-orm';
import { helpdeskArticles } from '../../db/schema/helpdesk.ts';
import { searchChunks } from '../../db/schema/search.ts';
import { answersQuestion, questionTerms, type Passage } from '../../db/search/answerer.ts';
import { hybridSearch, type SearchQuery, type VectorScoring } from '../../db/search/index.ts';
import type { Tx } from '../../db/tenant.ts';

/** Passages an answer may use, at most. */
const MAX_PASSAGES = 3;

export function articleUrl(baseURL: string, publicKey: string, slug: string) {
  return `${baseURL}/widget/v1/articles/${slug}?key=${encodeURIComponent(publicKey)}`;
}

/**
 * The passages a question may be answered from, best first: hybrid retrieval
 * over the organization's helpdesk passages (inside its tenant transaction, so
 * row-level security keeps it to them), kept only if their article is still
 * published and the passage really covers the question. Empty means "not covered".
 */
export async function groundingPassages(tx: Tx, search: { query: SearchQuery; scoring: VectorScoring }, link: (slug: string) => string): Promise<Passage[]> {
  const question = search.query.text;
  const terms = questionTerms(question);
  if (terms.length === 0) return [];
  // Passages sharing no word with the question are discarded below, so the
  // vector side need only rank the full-text matches (see vectorWithinText).
  const hits = await hybridSearch(tx, search.query, { types: ['helpdesk_article'], limit: 8, anyTerms: terms, vectorWithinText: 200, scoring: search.scoring });
  if (hits.length === 0) return [];
  const rows = await tx
    .select({ articleId: searchChunks.articleId, chunkNo: searchChunks.chunkNo, content: searchChunks.content, title: helpdeskArticles.title, slug: helpdeskArticles.slug })
    .from(searchChunks)
    .innerJoin(helpdeskArticles, and(eq(helpdeskArticles.orgId, searchChunks.orgId), eq(helpdeskArticles.id, searchChunks.articleId)))
    .where(and(inArray(searchChunks.articleId, [...new Set(hits.map((h) => h.source.id))]), eq(helpdeskArticles.published, true)));
  const byKey = new Map(rows.map((r) => [`${r.articleId}/${r.chunkNo}`, r]));
  const passages: Passage[] = [];
  for (const hit of hits) {
    const row = byKey.get(`${hit.source.id}/${hit.chunkNo}`);
    // The title counts as part of the passage: "How do I delete my data?" matches an article titled "Deleting data".
    if (!row || !answersQuestion(terms, `${row.title}\n${row.content}`)) continue;
    passages.push({ n: passages.length + 1, title: row.title, url: link(row.slug), content: row.content });
    if (passages.length === MAX_PASSAGES) break;
  }
  return passages;
}

export function notCoveredAnswer(contact: string | null) {
  const reach = contact ? `You can reach a person at ${contact}.` : 'Please contact our support team and a person will help you.';
  return `Our help articles don't cover this question, so I won't guess. ${reach}`;
}
