import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { APIError } from 'better-auth/api';
import { twoFactor } from 'better-auth/plugins';
import { eq } from 'drizzle-orm';
import { accounts, users, verifications } from '../db/schema/auth.ts';
import { operatorSessions, platformOperators, twoFactors } from '../db/schema/admin.ts';
import type { Db } from '../db/tenant.ts';

export interface OperatorAuthOptions {
  /** Drizzle over the admin process's own connection (beheerder). */
  db: Db;
  /** Public origin of the admin console, e.g. https://admin.kommit.eu. */
  baseURL: string;
  /** Its own secret: a cookie signed for the public app is worthless here. */
  secret: string;
  production: boolean;
  clientIpHeader: string;
}

/** Endpoints that create a session only after a second factor was checked. */
const SECOND_FACTOR_PATHS = new Set(['/two-factor/verify-totp', '/two-factor/verify-backup-code']);

export const NOT_AN_OPERATOR = 'This account is not a platform operator.';

/**
 * Better Auth for the admin console: the same users and passwords as the
 * public app, but sessions in operator_sessions, cookies of their own, no
 * sign-up, and the two-factor plugin (TOTP). Only platform operators get a
 * session at all; a session made by a TOTP (or backup code) check is stamped
 * secondFactorAt, and the console serves nothing else but the set-up page.
 */
export function createOperatorAuth(options: OperatorAuthOptions) {
  const { db } = options;
  return betterAuth({
    appName: 'Kommit admin',
    baseURL: options.baseURL,
    basePath: '/api/auth',
    secret: options.secret,
    telemetry: { enabled: false },
    database: drizzleAdapter(db, {
      provider: 'pg',
      schema: { user: users, session: operatorSessions, account: accounts, verification: verifications, twoFactor: twoFactors },
    }),
    emailAndPassword: { enabled: true, disableSignUp: true, minPasswordLength: 10, maxPasswordLength: 128 },
    session: {
      cookieCache: { enabled: false },
      // Operator sessions are short: a working day, renewed at most hourly.
      expiresIn: 8 * 3600,
      updateAge: 3600,
      additionalFields: { secondFactorAt: { type: 'date', required: false, input: false } },
    },
    databaseHooks: {
      session: {
        create: {
          before: async (session, context) => {
            const [operator] = await db.select({ userId: platformOperators.userId }).from(platformOperators).where(eq(platformOperators.userId, session.userId));
            if (!operator) throw new APIError('FORBIDDEN', { message: NOT_AN_OPERATOR });
            const secondFactor = context?.path !== undefined && SECOND_FACTOR_PATHS.has(context.path);
            return { data: { ...session, secondFactorAt: secondFactor ? new Date() : null } };
          },
        },
      },
    },
    // Its HTTP routes are not mounted; the console calls auth.api and limits attempts itself.
    rateLimit: { enabled: false },
    // Accounts are managed in the public console; here one only signs in.
    disabledPaths: ['/update-user', '/delete-user', '/change-email', '/change-password', '/two-factor/disable', '/two-factor/send-otp', '/two-factor/verify-otp'],
    advanced: {
      database: { generateId: 'uuid' },
      cookiePrefix: 'kommit-admin',
      useSecureCookies: options.production,
      defaultCookieAttributes: { httpOnly: true, sameSite: 'strict', secure: options.production, path: '/' },
      ipAddress: { ipAddressHeaders: [options.clientIpHeader] },
    },
    plugins: [twoFactor({ issuer: 'Kommit admin', trustDeviceMaxAge: 0 })],
  });
}

export type OperatorAuth = ReturnType<typeof createOperatorAuth>;
