import { createApiKey } from '../db/operators.ts';
import type { TestDatabase } from './database.ts';
import type { TestServer } from './server.ts';
import { UserAgent } from './user-agent.ts';

export interface TestTenant {
  orgId: string;
  keyId: string;
  key: string;
  /** Headers of an authenticated JSON request with this organization's API key. */
  headers: Record<string, string>;
  /** The organization's owner, signed in, with this organization active. */
  owner: UserAgent;
}

let counter = 0;

/**
 * An organization as users make one: its owner signs up and creates it over
 * HTTP. It also gets an API key, made by the same operator verb as the CLI.
 */
export async function createTenant(db: TestDatabase, server: TestServer, name: string): Promise<TestTenant> {
  const owner = new UserAgent(server);
  await owner.signUp(`owner-${++counter}-${Math.random().toString(36).slice(2, 8)}@${name.toLowerCase().replace(/\W+/g, '')}.test`);
  const { id: orgId } = await owner.createOrganization(name);
  const { id, key } = await createApiKey(db.admin, orgId, `${name} key`);
  return { orgId, keyId: id, key, owner, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } };
}
