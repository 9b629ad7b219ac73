import { sql } from 'drizzle-orm';
import { check, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';

export const projectStatuses = ['active', 'archived'] as const;

export const projects = pgTable(
  'projects',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    status: text('status', { enum: projectStatuses }).notNull().default('active'),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    updatedAt: timestampColumn('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // Serves the keyset pagination of the list endpoint (newest first).
    index('projects_org_created_idx').on(t.orgId, t.createdAt.desc(), t.id.desc()),
    check('projects_status_check', sql`${t.status} in ('active', 'archived')`),
  ],
);
