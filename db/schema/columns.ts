import { timestamp } from 'drizzle-orm/pg-core';

/** Microsecond timestamps kept as strings so no precision is lost in JavaScript. */
export const timestampColumn = (name: string) =>
  timestamp(name, { withTimezone: true, precision: 6, mode: 'string' });
