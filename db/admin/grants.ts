import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import { platformOperators } from '../schema/admin.ts';
import { users } from '../schema/auth.ts';
import type { Database } from '../tenant.ts';
import { auditOperator } from './platform-audit.ts';
import type { CheckpointSigner } from '../audit/checkpoint.ts';

const SETUP_TOKEN_HOURS = 24;
const hashToken = (token: string) => createHash('sha256').update(token).digest();

/**
 * Makes an existing user a platform operator (or takes it back), recorded in
 * the platform chain. Only the admin role can: no other role has any
 * privilege on platform_operators. An operator without TOTP yet gets a fresh
 * one-time set-up token (valid 24 hours), returned once and stored as its hash.
 */
export async function setOperator(admin: Database, email: string, grant: boolean, options: { grantedBy: string; signer?: CheckpointSigner }) {
  const cli = { userId: null, email: options.grantedBy };
  return admin.db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id, email: users.email, twoFactorEnabled: users.twoFactorEnabled }).from(users).where(eq(users.email, email.trim().toLowerCase()));
    if (!user) throw new Error(`no user with email ${email}: they sign up in the console first`);
    if (!grant) {
      const removed = await tx.delete(platformOperators).where(eq(platformOperators.userId, user.id)).returning();
      if (removed.length) await auditOperator(tx, { operator: cli, signer: options.signer, action: 'operator.revoke', targetType: 'user', targetId: user.id, data: { email: user.email } });
      return { userId: user.id, changed: removed.length > 0, setupToken: null };
    }
    const added = await tx.insert(platformOperators).values({ userId: user.id, grantedBy: options.grantedBy }).onConflictDoNothing().returning();
    let setupToken: string | null = null;
    if (!user.twoFactorEnabled) {
      setupToken = randomBytes(24).toString('base64url');
      await tx
        .update(platformOperators)
        .set({ setupTokenHash: hashToken(setupToken), setupTokenExpiresAt: sql`now() + make_interval(hours => ${SETUP_TOKEN_HOURS})` })
        .where(eq(platformOperators.userId, user.id));
    }
    if (added.length || setupToken) {
      await auditOperator(tx, {
        operator: cli,
        signer: options.signer,
        action: added.length ? 'operator.grant' : 'operator.setup_token',
        targetType: 'user',
        targetId: user.id,
        data: { email: user.email, setup: setupToken ? 'one-time set-up code issued' : 'none (TOTP already set up)' },
      });
    }
    return { userId: user.id, changed: added.length > 0, setupToken };
  });
}

/** Whether token is this operator's unexpired set-up token (compared as hashes, in constant time). */
export async function setupTokenValid(admin: Database, userId: string, token: string) {
  const [row] = await admin.db
    .select({ hash: platformOperators.setupTokenHash })
    .from(platformOperators)
    .where(and(eq(platformOperators.userId, userId), gt(platformOperators.setupTokenExpiresAt, sql`now()`)));
  return !!row?.hash && timingSafeEqual(row.hash, hashToken(token));
}

/** A set-up token works for one enrolment only. */
export async function consumeSetupToken(admin: Database, userId: string) {
  await admin.db.update(platformOperators).set({ setupTokenHash: null, setupTokenExpiresAt: null }).where(eq(platformOperators.userId, userId));
}
