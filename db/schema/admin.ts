import { sql } from 'drizzle-orm';
import { bigint, boolean, check, customType, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { users } from './auth.ts';

/**
 * The operator side of the platform (the admin console, DESIGN.md section 7).
 * Every table here belongs to no tenant, is owned by beheerder and grants
 * nothing to kommit_app or kommit_auth: only the admin process, connected as
 * beheerder, reads or writes it.
 */
const at = (name: string) => timestamp(name, { withTimezone: true, precision: 6 });
const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * A user who may operate the platform; granted only by `npm run admin:grant`
 * with the admin database URL. Until the operator has set up TOTP, setting it
 * up takes the one-time token the grant printed (stored here as its SHA-256),
 * so a password alone never decides whose authenticator guards the account.
 */
export const platformOperators = pgTable('platform_operators', {
  // Restrict, not cascade: a user's deletion must not revoke operator rights
  // unrecorded; the grant is revoked (in the platform chain) first.
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'restrict' }),
  role: text('role').notNull().default('admin'),
  grantedAt: at('granted_at').notNull().defaultNow(),
  grantedBy: text('granted_by').notNull(),
  setupTokenHash: bytea('setup_token_hash'),
  setupTokenExpiresAt: at('setup_token_expires_at'),
}, (t) => [check('platform_operators_role_check', sql`${t.role} in ('admin')`)]);

/**
 * Sessions of the admin console, apart from the public sessions table: a
 * public session can never be presented to the admin process, nor the reverse.
 * `secondFactorAt` is set only when the session was created by a TOTP (or
 * backup code) verification; the console refuses sessions without it.
 */
export const operatorSessions = pgTable(
  'operator_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    token: text('token').notNull().unique(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: at('expires_at').notNull(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    secondFactorAt: at('second_factor_at'),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('operator_sessions_user_idx').on(t.userId)],
);

/** Better Auth's two-factor plugin: the TOTP secret (encrypted by Better Auth) and backup codes of a user. */
export const twoFactors = pgTable(
  'two_factors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    secret: text('secret').notNull(),
    backupCodes: text('backup_codes').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    verified: boolean('verified').notNull().default(true),
    failedVerificationCount: integer('failed_verification_count').notNull().default(0),
    lockedUntil: at('locked_until'),
  },
  (t) => [index('two_factors_user_idx').on(t.userId)],
);

/**
 * The platform's own audit chain: everything an operator does. Same shape of
 * chain as an organization's (seq, prev_hash, hash over canonical JSON), kept
 * apart because it belongs to no organization. `organizationId` names the
 * organization an action touched (that organization's chain then has the row
 * too); it is deliberately not called org_id, which would make this a tenant
 * table. Appends only: UPDATE, DELETE and TRUNCATE are refused by trigger.
 */
export const platformAuditLog = pgTable(
  'platform_audit_log',
  {
    seq: bigint('seq', { mode: 'number' }).primaryKey(),
    occurredAt: at('occurred_at').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    organizationId: uuid('organization_id'),
    targetType: text('target_type'),
    targetId: text('target_id'),
    reason: text('reason'),
    requestId: text('request_id'),
    ip: text('ip'),
    data: jsonb('data').notNull().default({}),
    prevHash: bytea('prev_hash').notNull(),
    hash: bytea('hash').notNull(),
  },
  (t) => [
    unique('platform_audit_log_prev_hash_unique').on(t.prevHash),
    index('platform_audit_log_organization_idx').on(t.organizationId, t.seq),
  ],
);

/**
 * Signed checkpoints of the platform chain (the organizations' note format,
 * origin kommit/audit/platform): a cut-off tail or a rewritten chain shows
 * against any of them, here or wherever an operator kept one.
 */
export const platformAuditCheckpoints = pgTable('platform_audit_checkpoints', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  headHash: bytea('head_hash').notNull(),
  signedAt: at('signed_at').notNull(),
  keyName: text('key_name').notNull(),
  note: text('note').notNull(),
});
