import type { Context } from 'hono';
import type { AppEnv, MemberRole } from './env.ts';
import { ApiError } from './errors.ts';

/**
 * Organization management is for people: only a session whose live membership
 * has one of these roles passes. API keys never manage the organization.
 * member.role is already the effective role (tenant-transaction.ts), so a
 * stored list such as "admin,member" counts as admin here as everywhere.
 */
export function requireRole(c: Context<AppEnv>, roles: MemberRole[]) {
  const member = c.get('member');
  if (c.get('principal').kind !== 'session' || !member) {
    throw new ApiError('forbidden', 'This needs a signed-in member of the organization, not an API key.');
  }
  if (!roles.includes(member.role)) {
    throw new ApiError('forbidden', `This needs the role ${roles.join(' or ')} in this organization; you are ${member.role}.`);
  }
}
