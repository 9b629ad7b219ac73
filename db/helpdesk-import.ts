import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emitAudit, type AuditActor, type AuditEntry } from './audit/emit.ts';
import { parseMarkdownArticle, toArticle, upsertArticleBySlug } from './helpdesk.ts';
import type { Database, Tx } from './tenant.ts';

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
  for (const name of await markdownFiles(dir)) {
    const article = parseMarkdownArticle(name, await readFile(join(dir, name), 'utf8'));
    const outcome = await db.withTenant(orgId, async (tx) => {
      const done = await upsertArticleBySlug(tx, orgId, { ...article, published: true });
      if (done.outcome !== 'unchanged') {
        await options.record(tx, orgId, {
          action: done.outcome === 'created' ? 'helpdesk_article.create' : 'helpdesk_article.update',
          targetType: 'helpdesk_article',
          targetId: done.row.id,
          data: { after: toArticle(done.row), file: name },
        });
      }
      return done.outcome;
    });
    result[outcome]++;
    options.onFile?.(name, outcome);
  }
  return result;
}
