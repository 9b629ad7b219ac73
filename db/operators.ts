import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { generateApiKey } from '../auth/api-keys.ts';
import { auditOperator } from './admin/platform-audit.ts';
import { constraintOf } from './query-errors.ts';
import { isSlug, slugify } from './slugs.ts';
import { apiKeys } from './schema/api-keys.ts';
import { organizations } from './schema/organizations.ts';
import type { CheckpointSigner } from './audit/checkpoint.ts';
import type { Database, Tx } from './tenant.ts';

/** Signs checkpoints of the chains a verb appends to, when one is due. */
export interface OperatorOptions {
  signer?: CheckpointSigner;
}

/**
 * Operator verbs, run on the admin role. The admin role is subject to forced RLS
 * as well, so each verb works inside the tenant context it touches. Each is
 * recorded in that organization's chain (as the system actor operator-cli) and
 * in the platform chain, like everything an operator does.
 */
export const OPERATOR_CLI = { userId: null, email: 'operator-cli' };

/** Longest organization slug: an owner types it out to delete the organization (DELETE /v1/organizations/{id} takes up to 200 characters). */
export const MAX_SLUG_LENGTH = 100;
/** Longest name for an organization or an API key, wherever one is made (POST /v1/api-keys, Better Auth's organization endpoints, the console, the CLIs). */
export const MAX_NAME_LENGTH = 100;

/** A slug from an organization's name, with room for the "-xxxxxx" suffix a taken one gets. */
export const organizationSlug = (name: string) => slugify(name, MAX_SLUG_LENGTH - 7, 'org');

/** A slug taken by another organization (slugs are unique across the platform). */
export class SlugTaken extends Error {
  constructor(readonly slug: string) {
    super(`slug "${slug}" is already taken`);
  }
}

/** What is wrong with a slug given for an organization, if anything: checked without the database (whether it is free is not). */
export function slugProblem(slug: string | undefined): string | undefined {
  if (slug === undefined || isSlug(slug, MAX_SLUG_LENGTH)) return undefined;
  return `"${slug}" is not a slug: lower-case letters and digits in words joined by single hyphens, at most ${MAX_SLUG_LENGTH} characters`;
}

/**
 * Creates an organization. A slug given is used as it is (SlugTaken when
 * another organization has it); one derived from the name gets a random
 * suffix when taken, as the console's do, so the same name can be used twice.
 */
export async function createOrganization(admin: Database, input: { name: string; slug?: string }, options: OperatorOptions = {}) {
  const malformed = slugProblem(input.slug);
  if (malformed) throw new Error(malformed);
  const derived = organizationSlug(input.name);
  for (let attempt = 0; ; attempt++) {
    const slug = input.slug ?? (attempt === 0 ? derived : `${derived}-${randomUUID().slice(0, 6)}`);
    const id = randomUUID();
    try {
      // The organization row is itself behind RLS (its id is the tenant), so it
      // is created inside its own tenant context. Other organizations' slugs
      // cannot be read from there: the unique constraint tells.
      await admin.withTenant(id, async (tx) => {
        await tx.insert(organizations).values({ id, name: input.name, slug });
        await auditOperator(tx, { operator: OPERATOR_CLI, orgId: id, action: 'organization.create', targetType: 'organization', targetId: id, data: { name: input.name, slug }, signer: options.signer });
      });
      return id;
    } catch (error) {
      if (constraintOf(error) !== 'organizations_slug_unique') throw error;
      if (input.slug !== undefined) throw new SlugTaken(slug);
      if (attempt >= 5) throw error;
    }
  }
}

/** Returns the full key: the only time it exists outside the caller's hands. */
export async function createApiKey(admin: Database, orgId: string, name = 'cli', options: OperatorOptions = {}) {
  const key = generateApiKey();
  const id = await admin.withTenant(orgId, async (tx) => {
    await assertOrganizationOpen(tx, orgId);
    const [row] = await tx.insert(apiKeys).values({ orgId, name, prefix: key.prefix, keyHash: key.hash }).returning({ id: apiKeys.id });
    await auditOperator(tx, { operator: OPERATOR_CLI, orgId, action: 'api_key.create', targetType: 'api_key', targetId: row!.id, data: { name, prefix: key.prefix }, signer: options.signer });
    return row!.id;
  });
  return { id, key: key.key };
}

/**
 * The organization's row, share-locked until the transaction ends (so a
 * deletion cannot begin meanwhile): undefined when there is no such
 * organization, else when its deletion was requested (RFC 3339), or null.
 */
export async function lockOrganization(tx: Tx, orgId: string): Promise<{ deletionRequestedAt: string | null } | undefined> {
  const [org] = await tx.execute<{ deletion_requested_at: string | null }>(
    sql`select deletion_requested_at from organizations where id = ${orgId} for share`,
  );
  return org && { deletionRequestedAt: org.deletion_requested_at };
}

/**
 * Refuses an organization that does not exist, or whose deletion was requested:
 * the request made it unreachable at once, and an operator must not reopen it
 * (a new key would let requests in while the worker removes its rows). The
 * row stays locked (lockOrganization), so a deletion cannot begin until this
 * transaction ends.
 */
export async function assertOrganizationOpen(tx: Tx, orgId: string) {
  const org = await lockOrganization(tx, orgId);
  if (!org) throw new Error(`no organization ${orgId}`);
  if (org.deletionRequestedAt) throw new Error(`organization ${orgId} is being deleted (requested ${org.deletionRequestedAt})`);
}

/** Revokes a key still in use; false (and nothing recorded) for an unknown or already revoked one. */
export async function revokeApiKey(admin: Database, orgId: string, keyId: string): Promise<boolean> {
  return admin.withTenant(orgId, async (tx) => {
    const revoked = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (revoked.length === 0) return false;
    await auditOperator(tx, { operator: OPERATOR_CLI, orgId, action: 'api_key.revoke', targetType: 'api_key', targetId: keyId });
    return true;
  });
}
