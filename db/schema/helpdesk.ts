import { sql } from 'drizzle-orm';
import { boolean, check, index, pgTable, primaryKey, text, unique, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';

/**
 * A helpdesk article of an organization: Markdown the chat widget answers
 * from. Only published articles are indexed (search_chunks with source type
 * helpdesk_article), so the widget never quotes a draft.
 */
export const helpdeskArticles = pgTable(
  'helpdesk_articles',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    published: boolean('published').notNull().default(false),
    publishedAt: timestampColumn('published_at'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    unique('helpdesk_articles_slug_unique').on(t.orgId, t.slug),
    index('helpdesk_articles_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    check('helpdesk_articles_slug_check', sql`${t.slug} ~ '^[a-z0-9]+(-[a-z0-9]+)*$'`),
  ],
);

/**
 * The chat widget of an organization (at most one). `publicKey` (pk_...) is
 * embedded in customers' pages, so it is not a secret; it resolves to the
 * organization only through kommit_enter_widget. The identity-verification
 * secret is stored sealed, bound to this row's id.
 */
export const widgetConfigs = pgTable(
  'widget_configs',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    publicKey: text('public_key').notNull(),
    allowedOrigins: text('allowed_origins').array().notNull().default(sql`'{}'::text[]`),
    greeting: text('greeting').notNull().default('Hi! Ask me anything about our product.'),
    accentColor: text('accent_color').notNull().default('#2f6feb'),
    textColor: text('text_color').notNull().default('#ffffff'),
    contact: text('contact'),
    enabled: boolean('enabled').notNull().default(true),
    sealedIdentitySecret: text('sealed_identity_secret'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // One widget per organization.
    unique('widget_configs_org_unique').on(t.orgId),
    // The key alone finds the widget for a visitor's request, before the
    // organization is known (not unique on its own: see the catalog test).
    index('widget_configs_public_key_idx').on(t.publicKey),
  ],
);
