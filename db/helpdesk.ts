import { eq, sql } from 'drizzle-orm';
import { helpdeskArticles } from './schema/helpdesk.ts';
import { searchChunks } from './schema/search.ts';
import { queueIndex } from './search/index.ts';
import { parseHeading } from './search/markdown.ts';
import type { Tx } from './tenant.ts';
import { ApiError } from '../middleware/errors.ts';
import { slugify } from './slugs.ts';

export type ArticleRow = typeof helpdeskArticles.$inferSelect;

export interface ArticleInput {
  title: string;
  body: string;
  slug?: string;
  tags?: string[];
  published?: boolean;
}

/** A slug from an article's title or file name, at most `maxLength` long. */
export const articleSlug = (text: string, maxLength = 80) => slugify(text, maxLength, 'article');

/**
 * Keeps the search index in step with an article's state, in the caller's
 * transaction: a published article is (re)indexed by the worker after commit;
 * an unpublished one loses its passages at once, so the widget can never cite
 * it once this transaction commits.
 */
export async function syncArticleIndex(tx: Tx, before: ArticleRow | undefined, after: ArticleRow) {
  if (after.published) {
    const changed = !before || !before.published || before.title !== after.title || before.body !== after.body;
    if (changed) await queueIndex(tx, { type: 'helpdesk_article', id: after.id });
  } else if (before?.published) {
    await tx.delete(searchChunks).where(eq(searchChunks.articleId, after.id));
  }
}

/**
 * The first slug derived from the title that no article of the organization
 * has ("pricing", "pricing-2", ...), as far as this statement can see.
 */
async function freeSlug(tx: Tx, title: string) {
  // Room for a "-NN" suffix within the 80 characters; cut before the hyphens
  // are trimmed, or a cut right after a word would leave one at the end.
  const base = articleSlug(title, 72);
  const taken = await tx
    .select({ slug: helpdeskArticles.slug })
    .from(helpdeskArticles)
    .where(sql`${helpdeskArticles.slug} = ${base} or ${helpdeskArticles.slug} ~ ${`^${base}-[0-9]+$`}`);
  const used = new Set(taken.map((t) => t.slug));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** Enough for any burst of same-titled articles created at once; past it the conflict is answered. */
const SLUG_ATTEMPTS = 20;

/**
 * Inserts the article. A slug the caller chose is never changed: taking one
 * that exists is a conflict (23505, answered 409 by the routes). A slug derived
 * from the title is the caller's only in name, so it must not conflict:
 * another article may take it between our look and our insert (one of the
 * same title, one given that slug, one whose own title gives it). So it is
 * inserted ON CONFLICT DO NOTHING, which waits for such a writer to finish,
 * and if the slug went to it, the next free one is tried.
 */
export async function insertArticle(tx: Tx, orgId: string, input: ArticleInput) {
  const published = input.published ?? false;
  const values = { orgId, title: input.title, body: input.body, tags: input.tags ?? [], published, publishedAt: published ? sql`now()` : null };
  let row: ArticleRow | undefined;
  if (input.slug) [row] = await tx.insert(helpdeskArticles).values({ ...values, slug: input.slug }).returning();
  for (let attempt = 0; !row && attempt < SLUG_ATTEMPTS; attempt++) {
    [row] = await tx
      .insert(helpdeskArticles)
      .values({ ...values, slug: await freeSlug(tx, input.title) })
      .onConflictDoNothing({ target: [helpdeskArticles.orgId, helpdeskArticles.slug] })
      .returning();
  }
  if (!row) throw new ApiError('conflict', 'Too many articles of this title are being created at once; try again.');
  await syncArticleIndex(tx, undefined, row);
  return row;
}

/** Applies changes to a locked article row; null when this tenant has no such article. */
export async function updateArticle(tx: Tx, id: string, changes: Partial<ArticleInput>) {
  const [before] = await tx.select().from(helpdeskArticles).where(eq(helpdeskArticles.id, id)).for('update');
  if (!before) return null;
  const publishing = changes.published === true && !before.published;
  const [after] = await tx
    .update(helpdeskArticles)
    .set({
      ...changes,
      ...(publishing ? { publishedAt: sql`now()` } : {}),
      ...(changes.published === false ? { publishedAt: null } : {}),
      updatedAt: sql`now()`,
    })
    .where(eq(helpdeskArticles.id, id))
    .returning();
  await syncArticleIndex(tx, before, after!);
  return { before, after: after! };
}

/**
 * Creates the article with this slug or brings it up to date (the Markdown
 * import): returns what happened, so an unchanged file writes nothing.
 */
export async function upsertArticleBySlug(tx: Tx, orgId: string, input: ArticleInput & { slug: string }) {
  const [existing] = await tx.select().from(helpdeskArticles).where(eq(helpdeskArticles.slug, input.slug));
  if (!existing) return { outcome: 'created' as const, row: await insertArticle(tx, orgId, input) };
  const same =
    existing.title === input.title &&
    existing.body === input.body &&
    existing.published === (input.published ?? existing.published) &&
    JSON.stringify(existing.tags) === JSON.stringify(input.tags ?? existing.tags);
  if (same) return { outcome: 'unchanged' as const, row: existing };
  const updated = await updateArticle(tx, existing.id, { title: input.title, body: input.body, tags: input.tags ?? existing.tags, published: input.published ?? existing.published });
  return { outcome: 'updated' as const, row: updated!.after, before: existing };
}

/** The article as the API and the audit log show it. */
export function toArticle(row: ArticleRow) {
  return {
    id: row.id,
    slug: row.slug,
    title: row.title,
    body: row.body,
    tags: row.tags,
    published: row.published,
    publishedAt: row.publishedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/** The slug a Markdown file imports as: its name without `.md`, slugified (so FAQ.md and faq.md give the same one). */
export function fileSlug(fileName: string) {
  return articleSlug(fileName.replace(/\.md$/i, ''));
}

/** Title, "# Title" first line and the rest, from a Markdown file; the file name is the fallback title. */
export function parseMarkdownArticle(fileName: string, text: string) {
  const normalised = text.replace(/\r\n?/g, '\n').replace(/^\uFEFF/, '');
  const base = fileName.replace(/\.md$/i, '');
  // The first non-blank line, parsed by hand: a regex for it backtracked cubically (see parseHeading).
  const start = normalised.length - normalised.trimStart().length;
  const lineEnd = normalised.indexOf('\n', start);
  const firstLine = normalised.slice(start, lineEnd === -1 ? normalised.length : lineEnd);
  const heading = parseHeading(firstLine);
  const titled = heading?.level === 1;
  const title = titled ? heading.text : base.replace(/[-_]+/g, ' ');
  const body = (titled ? normalised.slice(start + firstLine.length) : normalised).trim();
  return { slug: fileSlug(fileName), title, body };
}
