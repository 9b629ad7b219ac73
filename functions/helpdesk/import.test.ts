import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrganization } from '../../db/operators.ts';
import { ensurePlatformHelpdesk, PLATFORM_ORG_ID } from '../../db/platform-helpdesk.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { runJobs } from '../../test/jobs.ts';
import { startTestServer } from '../../test/server.ts';
import { askWidget, startConversation } from '../../test/widget.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-helpdesk-'));
  await writeFile(path.join(dir, 'ca.pem'), db.ca);
  env = { PATH: process.env.PATH, DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PGSSLROOTCERT: path.join(dir, 'ca.pem') };
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const importCli = (args: string[]) => run(process.execPath, ['--import', 'tsx', 'db/cli/helpdesk-import.ts', ...args], { cwd: root, env });

const articles = (orgId: string) =>
  db.admin.withTenant(orgId, (tx) => tx.execute<{ slug: string; title: string; published: boolean }>(sql`select slug, title, published from helpdesk_articles order by slug`));

describe('npm run helpdesk:import', () => {
  it('imports a folder of Markdown files as published articles, then only what changed, with a progress bar and audit rows', async () => {
    const orgId = await createOrganization(db.admin, { name: 'Importer' });
    const docs = path.join(dir, 'docs');
    await run('mkdir', ['-p', docs]);
    await writeFile(path.join(docs, 'billing.md'), '# Billing and invoices\n\nInvoices are sent on the first day of each month.\n');
    await writeFile(path.join(docs, 'Getting_Started.md'), 'No heading here, just words about getting started.\n');
    await writeFile(path.join(docs, 'notes.txt'), 'not Markdown: skipped');
    const first = await importCli(['--org', orgId, docs]);
    expect(first.stdout).toBe('created 2, updated 0, unchanged 0\n');
    expect(first.stderr).toContain('importing');
    expect([...(await articles(orgId))]).toEqual([
      { slug: 'billing', title: 'Billing and invoices', published: true },
      { slug: 'getting-started', title: 'Getting Started', published: true },
    ]);
    await writeFile(path.join(docs, 'billing.md'), '# Billing and invoices\n\nInvoices are sent on the second day of each month.\n');
    expect((await importCli(['--org', orgId, docs])).stdout).toBe('created 0, updated 1, unchanged 1\n');
    await runJobs(db);
    const [chunks] = await db.admin.withTenant(orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from search_chunks where source_type = 'helpdesk_article'`));
    expect(chunks!.n).toBe(2);
    // An operator's change: in the organization's chain, each row pointing at its record in the platform chain.
    const audit = await db.admin.withTenant(orgId, (tx) =>
      tx.execute<{ action: string; actor_id: string; platform_seq: string }>(
        sql`select action, actor_id, data->>'platformSeq' as platform_seq from audit_log where action like 'helpdesk_article.%' order by seq`,
      ),
    );
    expect(audit.map(({ action, actor_id }) => ({ action, actor_id }))).toEqual([
      { action: 'helpdesk_article.create', actor_id: 'operator-cli' },
      { action: 'helpdesk_article.create', actor_id: 'operator-cli' },
      { action: 'helpdesk_article.update', actor_id: 'operator-cli' },
    ]);
    const platform = await db.admin.sql<{ seq: string; action: string; target_id: string; data: Record<string, unknown> }[]>`
      select seq::text, action, target_id, data from platform_audit_log where organization_id = ${orgId} and action like 'helpdesk_article.%' order by seq`;
    expect(platform.map((r) => r.action)).toEqual(['helpdesk_article.create', 'helpdesk_article.create', 'helpdesk_article.update']);
    expect(platform.map((r) => r.seq)).toEqual(audit.map((r) => r.platform_seq));
    // The platform chain outlives the organization: it names the file and the content's hash, never the text.
    expect(platform[2]!.data).toEqual({ file: 'billing.md', contentSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(platform)).not.toContain('second day of each month');
  });

  it('refuses files whose names give the same slug, naming them, before writing anything (exit 1)', async () => {
    const orgId = await createOrganization(db.admin, { name: 'Colliding names' });
    const docs = await mkdtemp(path.join(dir, 'colliding-'));
    await writeFile(path.join(docs, 'FAQ.md'), '# FAQ\n\nUpper case.\n');
    await writeFile(path.join(docs, 'faq.md'), '# FAQ\n\nLower case.\n');
    await writeFile(path.join(docs, 'a_b.md'), '# A and B\n\nUnderscore.\n');
    await writeFile(path.join(docs, 'a-b.md'), '# A and B\n\nHyphen.\n');
    await writeFile(path.join(docs, 'alone.md'), '# Alone\n\nNo twin.\n');
    const refused = await importCli(['--org', orgId, docs]).then(
      () => null,
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    const errorLine = refused!.stderr.split('\n').filter(Boolean).at(-1);
    expect(errorLine).toBe(
      'error: nothing imported: these files would be the same article: "a-b" from a-b.md and a_b.md; "faq" from FAQ.md and faq.md (rename all but one of each)',
    );
    expect([...(await articles(orgId))]).toEqual([]);
    const [audit] = await db.admin.withTenant(orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from audit_log where action like 'helpdesk_article.%'`));
    expect(audit!.n).toBe(0);
  });

  it('stops the progress bar before the error line when a file fails part-way, and exits', async () => {
    const orgId = await createOrganization(db.admin, { name: 'Failing file' });
    const docs = await mkdtemp(path.join(dir, 'failing-'));
    await writeFile(path.join(docs, 'a-fine.md'), '# Fine\n\nImported first.\n');
    // Postgres text cannot hold a NUL: the second file fails after the bar has started.
    await writeFile(path.join(docs, 'b-broken.md'), '# Broken\n\nA NUL \u0000 here.\n');
    // A bar left running keeps its timer, and the process, alive: the timeout tells.
    const failed = await run(process.execPath, ['--import', 'tsx', 'db/cli/helpdesk-import.ts', '--org', orgId, docs], { cwd: root, env, timeout: 20_000 }).then(
      () => null,
      (e: { code: number | null; signal: string | null; stdout: string; stderr: string }) => e,
    );
    expect(failed).toMatchObject({ code: 1, signal: null, stdout: '' });
    // The bar's final line (stop() draws it, then ends the line), then the error on a line of its own, last.
    expect(failed!.stderr).toMatch(/importing \S* 1\/2 a-fine\.md\n\nerror: b-broken\.md: invalid byte sequence for encoding "UTF8": 0x00\n$/);
    // What came before the failing file stays imported.
    expect([...(await articles(orgId))]).toEqual([{ slug: 'a-fine', title: 'Fine', published: true }]);
  });

  it('fails with a usage line (exit 2) on bad arguments, and exit 1 for an unknown organization or folder', async () => {
    await expect(importCli(['--org', 'nope', dir])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --org takes an organization uuid, not "nope"\nusage:/) });
    await expect(importCli([dir])).rejects.toMatchObject({ code: 2 });
    await expect(importCli(['--org', crypto.randomUUID(), dir])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/no organization/) });
    await expect(importCli(['--org', crypto.randomUUID(), path.join(dir, 'missing')])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/not a folder/) });
  });

  it('will not import into an organization whose deletion was requested', async () => {
    const orgId = await createOrganization(db.admin, { name: 'Leaving' });
    const docs = await mkdtemp(path.join(dir, 'leaving-'));
    await writeFile(path.join(docs, 'late.md'), '# Late\n\nToo late.\n');
    await db.admin.withTenant(orgId, (tx) => tx.execute(sql`update organizations set deletion_requested_at = now() where id = ${orgId}`));
    await expect(importCli(['--org', orgId, docs])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/error: organization \S+ is being deleted/) });
    expect([...(await articles(orgId))]).toEqual([]);
  });
});

describe("Kommit's own helpdesk", () => {
  it('is imported into the platform organization, and the widget on the console answers questions about Kommit from it', async () => {
    const helpdesk = path.join(root, 'helpdesk');
    const first = await ensurePlatformHelpdesk(db.admin, { dir: helpdesk, consoleOrigin: 'http://placeholder.test' });
    expect(first.imported.created).toBeGreaterThanOrEqual(4);
    await runJobs(db);
    const server = await startTestServer(db, { platformWidgetKey: first.publicKey });
    try {
      // A restart imports nothing new, keeps the key, and adds the console's origin.
      const again = await ensurePlatformHelpdesk(db.admin, { dir: helpdesk, consoleOrigin: new URL(server.url).origin });
      expect(again).toEqual({ publicKey: first.publicKey, imported: { created: 0, updated: 0, unchanged: first.imported.created } });

      const page = await fetch(`${server.url}/console/sign-in`);
      expect(await page.text()).toContain(`<script src="/widget.js" data-key="${first.publicKey}" async></script></body>`);
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'; connect-src 'self'");

      const conversation = await startConversation(server, first.publicKey, new URL(server.url).origin);
      const cases: [string, string][] = [
        ['How do I delete my organization?', 'Deleting an organization'],
        ['Where is my data stored?', 'Where your data is stored'],
        ['Can someone change the audit log?', 'The audit log'],
        ['Can another organization see my data?', 'How tenancy keeps organizations apart'],
      ];
      for (const [question, title] of cases) {
        const answer = await askWidget(server, conversation, question, new URL(server.url).origin);
        expect(answer.sources.map((s) => s.title), question).toContain(title);
      }
      const offTopic = await askWidget(server, conversation, 'What is the weather in Paris tomorrow?', new URL(server.url).origin);
      expect(offTopic.text).toContain("don't cover this question");
      const [transcripts] = await db.admin.withTenant(PLATFORM_ORG_ID, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from support_transcripts where channel = 'widget'`));
      expect(transcripts!.n).toBe(1);
    } finally {
      await server.close();
    }
  });
});
