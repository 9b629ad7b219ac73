import { relations } from 'drizzle-orm';
import { boolean, index, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { organizations, orgIdColumn } from './organizations.ts';

/**
 * Better Auth's models. Property keys are Better Auth's field names (the drizzle
 * adapter maps by them); columns are snake_case. Identity tables (users,
 * sessions, accounts, verifications) belong to no tenant and are reachable only
 * by the auth role; members and invitations are tenant tables like any other
 * (org_id, forced RLS), with an extra policy for the auth role only. See
 * auth/README.md for why.
 */
const at = (name: string) => timestamp(name, { withTimezone: true, precision: 6 });

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  email: text('email').notNull().unique(),
  emailVerified: boolean('email_verified').notNull().default(false),
  image: text('image'),
  // Better Auth's two-factor plugin (used by the admin console only).
  twoFactorEnabled: boolean('two_factor_enabled').notNull().default(false),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    token: text('token').notNull().unique(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: at('expires_at').notNull(),
    ipAddress: text('ip_address'),
    userAgent: text('user_agent'),
    // A claim, re-checked against members on every request.
    activeOrganizationId: uuid('active_organization_id').references(() => organizations.id, { onDelete: 'set null' }),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_active_org_idx').on(t.activeOrganizationId)],
);

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: text('account_id').notNull(),
    providerId: text('provider_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    idToken: text('id_token'),
    accessTokenExpiresAt: at('access_token_expires_at'),
    refreshTokenExpiresAt: at('refresh_token_expires_at'),
    scope: text('scope'),
    password: text('password'),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('accounts_user_idx').on(t.userId)],
);

export const verifications = pgTable(
  'verifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    identifier: text('identifier').notNull(),
    value: text('value').notNull(),
    expiresAt: at('expires_at').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('verifications_identifier_idx').on(t.identifier)],
);

export const members = pgTable(
  'members',
  {
    organizationId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role').notNull().default('member'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.id] }),
    // The constraint Better Auth does not add: one membership per user and organization.
    unique('members_org_user_unique').on(t.organizationId, t.userId),
    index('members_user_idx').on(t.userId),
    // Better Auth addresses a membership by id alone.
    index('members_id_idx').on(t.id),
  ],
);

export const invitations = pgTable(
  'invitations',
  {
    organizationId: orgIdColumn(),
    id: uuid('id').notNull().defaultRandom(),
    email: text('email').notNull(),
    role: text('role').notNull(),
    status: text('status').notNull().default('pending'),
    expiresAt: at('expires_at').notNull(),
    inviterId: uuid('inviter_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.organizationId, t.id] }),
    index('invitations_email_idx').on(t.email),
    index('invitations_id_idx').on(t.id),
    index('invitations_inviter_idx').on(t.inviterId),
    // And, in migration 0038 only: a unique index on (org_id, lower(email))
    // where status = 'pending', one pending invitation per address.
  ],
);

// Relations let Better Auth read a session and its user in one query (joins).
export const usersRelations = relations(users, ({ many }) => ({ sessions: many(sessions), accounts: many(accounts), members: many(members) }));
export const sessionsRelations = relations(sessions, ({ one }) => ({ user: one(users, { fields: [sessions.userId], references: [users.id] }) }));
export const accountsRelations = relations(accounts, ({ one }) => ({ user: one(users, { fields: [accounts.userId], references: [users.id] }) }));
// Better Auth's get-full-organization joins an organization's members and invitations.
export const organizationsRelations = relations(organizations, ({ many }) => ({ members: many(members), invitations: many(invitations) }));
export const invitationsRelations = relations(invitations, ({ one }) => ({
  organization: one(organizations, { fields: [invitations.organizationId], references: [organizations.id] }),
  inviter: one(users, { fields: [invitations.inviterId], references: [users.id] }),
}));
export const membersRelations = relations(members, ({ one }) => ({
  user: one(users, { fields: [members.userId], references: [users.id] }),
  organization: one(organizations, { fields: [members.organizationId], references: [organizations.id] }),
}));
