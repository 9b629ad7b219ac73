import { randomBytes, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { widgetConfigs } from './schema/helpdesk.ts';
import type { Tx } from './tenant.ts';

export type WidgetRow = typeof widgetConfigs.$inferSelect;
type WidgetFields = Partial<Pick<WidgetRow, 'allowedOrigins' | 'greeting' | 'accentColor' | 'textColor' | 'contact' | 'enabled'>>;

/** A public widget key: `pk_` and 24 random bytes. Public (it sits in web pages), yet unguessable. */
export function newWidgetKey() {
  return `pk_${randomBytes(24).toString('base64url')}`;
}

/** An identity-verification secret, for the organization's own server to sign visitor ids with. */
export function newIdentitySecret() {
  return `wsec_${randomBytes(32).toString('base64url')}`;
}

/** The organization's widget, locked for a change; null when it has none yet. */
export async function widgetForUpdate(tx: Tx) {
  const [row] = await tx.select().from(widgetConfigs).for('update');
  return row ?? null;
}

/** Creates the organization's widget with defaults (and the given fields). */
export async function insertWidget(tx: Tx, orgId: string, fields: WidgetFields = {}) {
  const [row] = await tx
    .insert(widgetConfigs)
    .values({ orgId, id: randomUUID(), publicKey: newWidgetKey(), ...fields })
    .returning();
  return row!;
}

/**
 * The organization's widget locked for a change, made with `fields` first when
 * it has none (`created`). Two first changes at once must not both insert (one
 * widget per organization): the later insert waits for the earlier one's
 * commit, does nothing, and this then locks the row the other one made.
 */
export async function lockOrCreateWidget(tx: Tx, orgId: string, fields: WidgetFields = {}): Promise<{ widget: WidgetRow; created: boolean }> {
  const existing = await widgetForUpdate(tx);
  if (existing) return { widget: existing, created: false };
  const [inserted] = await tx
    .insert(widgetConfigs)
    .values({ orgId, id: randomUUID(), publicKey: newWidgetKey(), ...fields })
    .onConflictDoNothing({ target: widgetConfigs.orgId })
    .returning();
  if (inserted) return { widget: inserted, created: true };
  return { widget: (await widgetForUpdate(tx))!, created: false };
}

export async function updateWidget(tx: Tx, id: string, fields: Partial<WidgetRow>) {
  const [row] = await tx.update(widgetConfigs).set({ ...fields, updatedAt: sql`now()` }).where(eq(widgetConfigs.id, id)).returning();
  return row!;
}
