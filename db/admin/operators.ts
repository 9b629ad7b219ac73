import { eq } from 'drizzle-orm';
import { platformOperators } from '../schema/admin.ts';
import { users } from '../schema/auth.ts';
import type { Database } from '../tenant.ts';
import { auditOperator } from './platform-audit.ts';

const CLI = { userId: null, email: 'admin:grant' };

/**
 * Makes an existing user a platform operator (or takes it back), recorded in
 * the platform chain. Only the admin role can: no other role has any
 * privilege on platform_operators.
 */
export async function setOperator(admin: Database, email: string, grant: boolean) {
  return admin.db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id, email: users.email }).from(users).where(eq(users.email, email.trim().toLowerCase()));
    if (!user) throw new Error(`no user with email ${email}: they sign up in the console first`);
    const changed = grant
      ? await tx.insert(platformOperators).values({ userId: user.id, grantedBy: CLI.email }).onConflictDoNothing().returning()
      : await tx.delete(platformOperators).where(eq(platformOperators.userId, user.id)).returning();
    if (changed.length > 0) {
      await auditOperator(tx, { operator: CLI, action: grant ? 'operator.grant' : 'operator.revoke', targetType: 'user', targetId: user.id, data: { email: user.email } });
    }
    return { userId: user.id, changed: changed.length > 0 };
  });
}
