import { hashApiKey } from '../auth/api-keys.ts';
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

/**
 * Stands in for a request in flight with an API key: a transaction entered with
 * the key, as the tenant chain enters one, held open until release() (which
 * resolves once it has committed). The key's use is recorded first, in a
 * transaction of its own, so the held one writes (and row-locks) nothing of the
 * key: whatever waits for it waits on the key lock alone.
 */
export async function holdKeyTransaction(db: TestDatabase, key: string) {
  await db.app.withTenantKey(hashApiKey(key), async () => undefined);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let entered!: (found: unknown) => void;
  const inside = new Promise((resolve) => (entered = resolve));
  const transaction = db.app.withTenantKey(hashApiKey(key), async (_tx, found) => {
    entered(found);
    await held;
  });
  if (!(await inside)) throw new Error('holdKeyTransaction: the key did not resolve');
  return {
    release: () => {
      release();
      return transaction;
    },
  };
}

/** 'waiting' when promise has not settled within ms (default 300), else 'settled'. */
export function settledWithin(promise: Promise<unknown>, ms = 300) {
  return Promise.race([promise.then(() => 'settled', () => 'settled'), new Promise((resolve) => setTimeout(resolve, ms, 'waiting'))]);
}
