import { customType, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { timestampColumn } from './columns.ts';
import { orgIdColumn } from './organizations.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * Organization-bound API keys. Only the SHA-256 of the secret is stored; the key
 * itself is shown once, at creation. Requests resolve a key to its organization
 * through the SECURITY DEFINER function kommit_resolve_api_key (see migrations),
 * because the tenant context does not exist yet at that point.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    orgId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    name: text('name').notNull(),
    /** The first characters of the key, for recognising it in a list. */
    prefix: text('prefix').notNull(),
    keyHash: bytea('key_hash').notNull(),
    createdAt: timestampColumn('created_at').notNull().defaultNow(),
    lastUsedAt: timestampColumn('last_used_at'),
    revokedAt: timestampColumn('revoked_at'),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.id] }),
    // Not unique on purpose: a random 256-bit secret cannot collide, and a
    // global unique constraint on tenant data is what DESIGN.md section 3 forbids.
    index('api_keys_key_hash_idx').on(t.keyHash),
  ],
);
