import { timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizations } from './organizations.ts';

/**
 * Every tenant-owned table starts with this column: the tenancy key, cascading
 * from the organization so a hard delete leaves nothing behind.
 */
export const orgIdColumn = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id, { onDelete: 'cascade' });

/** Microsecond timestamps kept as strings so no precision is lost in JavaScript. */
export const timestampColumn = (name: string) =>
  timestamp(name, { withTimezone: true, precision: 6, mode: 'string' });
