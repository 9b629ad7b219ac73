import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError } from 'better-auth/api';
import { organization } from 'better-auth/plugins';
import { and, count, eq, inArray } from 'drizzle-orm';
import { accounts, invitations, members, sessions, users, verifications } from '../db/schema/auth.ts';
import { organizations } from '../db/schema/organizations.ts';
import type { Db } from '../db/tenant.ts';

export interface AuthOptions {
  /** Drizzle over the auth role's pool (kommit_auth), never kommit_app's. */
  db: Db;
  /** Public origin of this deployment, e.g. https://app.kommit.eu; cookies and origin checks follow it. */
  baseURL: string;
  secret: string;
  production: boolean;
  /** Header the platform fills with the client address it determined (see middleware/client-ip.ts). */
  clientIpHeader: string;
}

/**
 * Better Auth: identity (users, sessions, accounts) and organizations, members
 * and invitations through its organization plugin. What it decides about the
 * session is a claim; every request re-checks membership live (middleware/).
 */
export function createAuth(options: AuthOptions) {
  const { db } = options;
  return betterAuth({
    appName: 'Kommit',
    baseURL: options.baseURL,
    basePath: '/api/auth',
    secret: options.secret,
    telemetry: { enabled: false },
    database: drizzleAdapter(db, {
      provider: 'pg',
      schema: {
        user: users,
        session: sessions,
        account: accounts,
        verification: verifications,
        organization: organizations,
        member: members,
        invitation: invitations,
      },
    }),
    emailAndPassword: { enabled: true, minPasswordLength: 10, maxPasswordLength: 128, autoSignIn: true },
    session: {
      // Never trust a signed cookie copy of the session: every request reads the row.
      cookieCache: { enabled: false },
    },
    user: {
      deleteUser: {
        enabled: true,
        // Better Auth would leave an organization without an owner; refuse instead.
        beforeDelete: async (user) => {
          const sole = await soleOwnerships(db, user.id);
          if (sole.length) {
            throw new APIError('BAD_REQUEST', {
              message: `You are the only owner of ${sole.join(', ')}: transfer ownership or delete the organization first.`,
            });
          }
        },
      },
    },
    // Sign-in attempts are limited per account and per address by the platform
    // (middleware/sign-in-limit.ts), in front of this handler.
    rateLimit: { enabled: false },
    advanced: {
      database: { generateId: 'uuid', joins: true },
      useSecureCookies: options.production,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'lax', secure: options.production, path: '/' },
      ipAddress: { ipAddressHeaders: [options.clientIpHeader] },
    },
    plugins: [
      organization({
        creatorRole: 'owner',
        invitationExpiresIn: 7 * 24 * 3600,
        // No mail service is wired in: invitees see pending invitations for their
        // email address in the console (and through list-user-invitations).
        sendInvitationEmail: async () => {},
      }),
    ],
  });
}

export type Auth = ReturnType<typeof createAuth>;

/** Names of the organizations where this user is the only owner. */
export async function soleOwnerships(db: Db, userId: string) {
  const owned = await db
    .select({ orgId: members.organizationId })
    .from(members)
    .where(and(eq(members.userId, userId), eq(members.role, 'owner')));
  if (owned.length === 0) return [];
  const ownerCounts = await db
    .select({ orgId: members.organizationId, name: organizations.name, owners: count() })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.organizationId))
    .where(and(inArray(members.organizationId, owned.map((o) => o.orgId)), eq(members.role, 'owner')))
    .groupBy(members.organizationId, organizations.name);
  return ownerCounts.filter((o) => o.owners === 1).map((o) => o.name);
}
