import { pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';

/** The tenancy root: every tenant row belongs to exactly one of these. */
export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  createdAt: timestampColumn('created_at').notNull().defaultNow(),
});

/**
 * Every tenant-owned table starts with this column: the tenancy key, cascading
 * from the organization so a hard delete leaves nothing behind.
 */
export const orgIdColumn = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });
