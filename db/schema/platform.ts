import { bigint, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Platform-level record of hard organization deletions: who asked and when,
 * and when the last row was gone. It outlives the organization on purpose, so
 * it holds no tenant content, no reference to organizations (the cascade must
 * not take it) and no org_id column (it is not tenant data). kommit_app has no
 * privileges on it; rows come from kommit_begin_org_deletion and the worker.
 */
export const organizationDeletions = pgTable('organization_deletions', {
  id: uuid('id').primaryKey().defaultRandom(),
  deletedOrganizationId: uuid('deleted_organization_id').notNull().unique(),
  requestedBy: uuid('requested_by').notNull(),
  requestedAt: timestamp('requested_at', { withTimezone: true, precision: 6 }).notNull().defaultNow(),
  completedAt: timestamp('completed_at', { withTimezone: true, precision: 6 }),
  rowsDeleted: bigint('rows_deleted', { mode: 'number' }),
});
