import { createApiKey, createOrganization } from '../db/operators.ts';
import type { TestDatabase } from './database.ts';

export interface TestTenant {
  orgId: string;
  keyId: string;
  key: string;
  /** Headers of an authenticated JSON request as this tenant. */
  headers: Record<string, string>;
}

/** An organization with one API key, made through the same operator verbs as the CLI. */
export async function createTenant(db: TestDatabase, name: string): Promise<TestTenant> {
  const orgId = await createOrganization(db.admin, { name });
  const { id, key } = await createApiKey(db.admin, orgId, `${name} key`);
  return { orgId, keyId: id, key, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } };
}
