import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The tenancy root: every tenant row belongs to exactly one of these. It is also
 * Better Auth's organization model (property keys are Better Auth's field names),
 * so there is one root, not two kept in step.
 */
export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  slug: text('slug').notNull().unique(),
  logo: text('logo'),
  metadata: text('metadata'),
  // Date-typed: Better Auth reads and writes these as Date objects.
  createdAt: timestamp('created_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 6 }),
  /** Set when a hard delete starts: from then on the organization is unreachable and its rows are being removed. */
  deletionRequestedAt: timestamp('deletion_requested_at', { withTimezone: true, precision: 6 }),
});

/**
 * Every tenant-owned table starts with this column: the tenancy key, cascading
 * from the organization so a hard delete leaves nothing behind.
 */
export const orgIdColumn = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });
