import { eq } from 'drizzle-orm';
import { members } from '../db/schema/auth.ts';
import { organizations } from '../db/schema/organizations.ts';
import type { Database } from '../db/tenant.ts';

/**
 * A user's organizations and role in each. Memberships span tenants by nature,
 * so this reads through the auth role's connection, never kommit_app's.
 */
export function listMemberships(authDatabase: Database, userId: string) {
  return authDatabase.db
    .select({ id: organizations.id, name: organizations.name, slug: organizations.slug, role: members.role })
    .from(members)
    .innerJoin(organizations, eq(organizations.id, members.organizationId))
    .where(eq(members.userId, userId))
    .orderBy(organizations.name);
}
