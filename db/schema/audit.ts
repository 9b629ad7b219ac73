import { bigint, customType, index, jsonb, pgTable, primaryKey, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { orgIdColumn } from './organizations.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });
const at = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'string' });

/**
 * The audit log: per organization a hash chain (DESIGN.md section 4). Rows are
 * only ever inserted; a trigger refuses UPDATE and DELETE except the cascade of
 * a hard organization delete.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    orgId: orgIdColumn(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    occurredAt: at('occurred_at').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    requestId: text('request_id'),
    ip: text('ip'),
    data: jsonb('data').notNull(),
    prevHash: bytea('prev_hash').notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orgId, t.seq] }),
    // The backstop against a fork: two rows can never claim the same predecessor.
    unique('audit_log_org_prev_hash_unique').on(t.orgId, t.prevHash),
    index('audit_log_org_action_idx').on(t.orgId, t.action, t.seq),
    index('audit_log_org_actor_idx').on(t.orgId, t.actorId, t.seq),
    index('audit_log_org_target_idx').on(t.orgId, t.targetType, t.targetId, t.seq),
    index('audit_log_org_time_idx').on(t.orgId, t.occurredAt),
  ],
);

/** One row per organization: the head of its chain, locked FOR UPDATE by every append. */
export const auditChainHeads = pgTable('audit_chain_heads', {
  orgId: orgIdColumn().primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  headHash: bytea('head_hash').notNull(),
  lastCheckpointSeq: bigint('last_checkpoint_seq', { mode: 'number' }).notNull().default(0),
  lastCheckpointAt: at('last_checkpoint_at'),
});

/** Signed checkpoints (C2SP signed-note style) a customer can keep to detect a cut-off or rewritten chain. */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    orgId: orgIdColumn(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    headHash: bytea('head_hash').notNull(),
    signedAt: at('signed_at').notNull(),
    keyName: text('key_name').notNull(),
    note: text('note').notNull(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.seq] })],
);

