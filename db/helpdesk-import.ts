import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emitAudit, type AuditActor, type AuditEntry } from './audit/emit.ts';
import { fileSlug, parseMarkdownArticle, toArticle, upsertArticleBySlug } from './helpdesk.ts';
import type { Database, Tx } from './tenant.ts';
import { reasonOf } from './query-errors.ts';

export interface ImportResult {
  created: number;
  updated: number;
  unchanged: number;
}

/** Records one imported article's change in the organization's transaction. */
export type RecordArticleChange = (tx: Tx, orgId: string, entry: AuditEntry) => Promise<unknown>;

/** Records in the organization's chain only, as this actor (a system import). */
export const recordAs =
  (actor: AuditActor): RecordArticleChange =>
  (tx, orgId, entry) =>
    emitAudit(tx, { orgId, actor }, entry);

/** The Markdown files of a folder (not its subfolders), in name order. */
export async function markdownFiles(dir: string) {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.md$/i.test(e.name)).map((e) => e.name).sort();
}

/**
 * Files whose names give the same slug, by slug. Imported together they would
 * be one article, each run overwriting it with the other file (never
 * "unchanged", an audit row and a reindex every time), and one file would
 * never be an article of its own.
 */
export function slugCollisions(names: string[]) {
  const bySlug = new Map<string, string[]>();
  for (const name of names) {
    const slug = fileSlug(name);
    bySlug.set(slug, [...(bySlug.get(slug) ?? []), name]);
  }
  return [...bySlug].filter(([, files]) => files.length > 1).sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * Imports a folder of Markdown files as published helpdesk articles of one
 * organization: the file name is the slug, the first "# " heading the title.
 * Re-running it updates changed files and leaves unchanged ones alone. Each
 * file is its own transaction with its audit row, so a failure part-way keeps
 * what was imported before it.
 */
export async function importHelpdeskFolder(
  db: Database,
  orgId: string,
  dir: string,
  options: { record: RecordArticleChange; onFile?: (name: string, outcome: keyof ImportResult) => void },
): Promise<ImportResult> {
  const result: ImportResult = { created: 0, updated: 0, unchanged: 0 };
  const names = await markdownFiles(dir);
  // Refused before anything is written: which of two such files wins is not ours to guess.
  const collisions = slugCollisions(names);
  if (collisions.length) {
    const listed = collisions.map(([slug, files]) => `"${slug}" from ${files.slice(0, -1).join(', ')} and ${files.at(-1)}`).join('; ');
    throw new Error(`nothing imported: these files would be the same article: ${listed} (rename all but one of each)`);
  }
  for (const name of names) {
    const outcome = await importFile(db, orgId, dir, name, options.record).catch((error: unknown) => {
      // Which file failed is what the operator needs to fix it.
      throw new Error(`${name}: ${reasonOf(error)}`, { cause: error });
    });
    result[outcome]++;
    options.onFile?.(name, outcome);
  }
  return result;
}

/** One file in its own transaction, with its audit row. */
async function importFile(db: Database, orgId: string, dir: string, name: string, record: RecordArticleChange) {
  const article = parseMarkdownArticle(name, await readFile(join(dir, name), 'utf8'));
  return db.withTenant(orgId, async (tx) => {
    const done = await upsertArticleBySlug(tx, orgId, { ...article, published: true });
    if (done.outcome !== 'unchanged') {
      await record(tx, orgId, {
        action: done.outcome === 'created' ? 'helpdesk_article.create' : 'helpdesk_article.update',
        targetType: 'helpdesk_article',
        targetId: done.row.id,
        data: { after: toArticle(done.row), file: name },
      });
    }
    return done.outcome;
  });
}
