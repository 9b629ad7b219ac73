import { sql } from 'drizzle-orm';
import { emitAudit } from './audit/emit.ts';
import { importHelpdeskFolder, recordAs, type ImportResult } from './helpdesk-import.ts';
import { organizations } from './schema/organizations.ts';
import type { Database } from './tenant.ts';
import { insertWidget, updateWidget, widgetForUpdate } from './widget.ts';

/**
 * The organization that holds Kommit's own helpdesk (helpdesk/*.md), so the
 * widget on the console answers questions about Kommit itself. A fixed id:
 * the organizations table is behind row-level security, so it is found by
 * entering its tenant context, never by a lookup across tenants.
 */
export const PLATFORM_ORG_ID = '00000000-0000-4000-8000-00000000c0de';
const actor = { type: 'system' as const, id: 'platform-helpdesk' };

/**
 * Creates the platform organization when missing, imports the helpdesk
 * folder into it, and makes sure its widget allows the console's origin.
 * Returns the widget's public key. Idempotent: a restart imports only what changed.
 */
export async function ensurePlatformHelpdesk(admin: Database, options: { dir: string; consoleOrigin: string }): Promise<{ publicKey: string; imported: ImportResult }> {
  await admin.withTenant(PLATFORM_ORG_ID, async (tx) => {
    const [org] = await tx.select({ id: organizations.id }).from(organizations);
    if (org) return;
    await tx.insert(organizations).values({ id: PLATFORM_ORG_ID, name: 'Kommit helpdesk', slug: `kommit-helpdesk-${PLATFORM_ORG_ID.slice(-4)}` });
    await emitAudit(tx, { orgId: PLATFORM_ORG_ID, actor }, { action: 'organization.create', targetType: 'organization', targetId: PLATFORM_ORG_ID, data: { name: 'Kommit helpdesk' } });
  });
  const imported = await importHelpdeskFolder(admin, PLATFORM_ORG_ID, options.dir, { record: recordAs(actor) });
  const publicKey = await admin.withTenant(PLATFORM_ORG_ID, async (tx) => {
    // One platform widget at a time: concurrent starts queue here.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('kommit-platform-widget', 0))`);
    const widget = await widgetForUpdate(tx);
    if (!widget) {
      const row = await insertWidget(tx, PLATFORM_ORG_ID, { allowedOrigins: [options.consoleOrigin], greeting: 'Hi! Ask me how Kommit works: tenancy, deletion, the audit log, where data lives.' });
      await emitAudit(tx, { orgId: PLATFORM_ORG_ID, actor }, { action: 'widget.update', targetType: 'widget', targetId: row.id, data: { after: { allowedOrigins: row.allowedOrigins } } });
      return row.publicKey;
    }
    if (!widget.allowedOrigins.includes(options.consoleOrigin)) {
      const row = await updateWidget(tx, widget.id, { allowedOrigins: [...widget.allowedOrigins, options.consoleOrigin] });
      await emitAudit(tx, { orgId: PLATFORM_ORG_ID, actor }, { action: 'widget.update', targetType: 'widget', targetId: row.id, data: { before: { allowedOrigins: widget.allowedOrigins }, after: { allowedOrigins: row.allowedOrigins } } });
    }
    return widget.publicKey;
  });
  return { publicKey, imported };
}
