import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { createOrganization } from './operators.ts';
import { members, users } from './schema/auth.ts';
import { projects } from './schema/projects.ts';

let db: TestDatabase;
let orgA: string;
let orgB: string;
let userId: string;
beforeAll(async () => {
  db = await createTestDatabase();
  orgA = await createOrganization(db.admin, { name: 'Member A' });
  orgB = await createOrganization(db.admin, { name: 'Member B' });
  const [user] = await db.identity.db.insert(users).values({ name: 'u', email: `u-${Date.now()}@example.test` }).returning();
  userId = user!.id;
  await db.identity.db.insert(members).values({ organizationId: orgA, userId, role: 'admin' });
  await db.admin.withTenant(orgB, (tx) => tx.insert(projects).values({ orgId: orgB, name: 'b only' }));
});
afterAll(() => db.close());

describe('withTenantMember', () => {
  it('sets the tenant context and returns the live role in one statement', async () => {
    const result = await db.app.withTenantMember(orgA, userId, async (tx, role) => {
      const [row] = await tx.execute<{ org: string }>(sql`select current_setting('app.current_org_id') as org`);
      return { role, org: row!.org };
    });
    expect(result).toEqual({ role: 'admin', org: orgA });
  });

  it('returns no role for a non-member and sets no tenant context: the transaction sees nothing', async () => {
    const result = await db.app.withTenantMember(orgB, userId, async (tx, role) => ({ role, rows: await tx.select().from(projects) }));
    expect(result.role).toBeNull();
    expect(result.rows).toEqual([]);
  });

  it('holds a share lock on the membership: a removal waits for the transaction', async () => {
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hasLock = new Promise<void>((resolve) => (locked = resolve));
    const request = db.app.withTenantMember(orgA, userId, async () => {
      locked();
      await held;
    });
    await hasLock;
    const removal = db.identity.db.delete(members).where(sql`${members.userId} = ${userId}`);
    const state = await Promise.race([removal.then(() => 'removed'), new Promise((resolve) => setTimeout(resolve, 300, 'waiting'))]);
    expect(state).toBe('waiting');
    release();
    await request;
    await removal;
    expect(await db.app.withTenantMember(orgA, userId, async (_tx, role) => role)).toBeNull();
  });
});
