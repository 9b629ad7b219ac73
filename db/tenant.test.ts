import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { expectRlsViolation } from '../test/expect.ts';
import { settledWithin } from '../test/tenants.ts';
import { hashApiKey } from '../auth/api-keys.ts';
import { createApiKey, createOrganization, revokeApiKey } from './operators.ts';
import { projects } from './schema/projects.ts';
import { connect } from './connection.ts';
import { createDatabase } from './tenant.ts';

let db: TestDatabase;
let orgA: string;
let orgB: string;

beforeAll(async () => {
  db = await createTestDatabase();
  orgA = await createOrganization(db.admin, { name: 'Org A' });
  orgB = await createOrganization(db.admin, { name: 'Org B' });
  await db.admin.withTenant(orgA, (tx) => tx.insert(projects).values([{ orgId: orgA, name: 'a1' }, { orgId: orgA, name: 'a2' }]));
  await db.admin.withTenant(orgB, (tx) => tx.insert(projects).values({ orgId: orgB, name: 'b1' }));
});
afterAll(() => db.close());

const namesIn = (rows: { name: string }[]) => rows.map((r) => r.name).sort();

describe('withTenant', () => {
  it('sees only the rows of its organization', async () => {
    expect(namesIn(await db.app.withTenant(orgA, (tx) => tx.select().from(projects)))).toEqual(['a1', 'a2']);
    expect(namesIn(await db.app.withTenant(orgB, (tx) => tx.select().from(projects)))).toEqual(['b1']);
  });

  it('sets the context as a transaction-local setting from a bind parameter', async () => {
    const [row] = await db.app.withTenant(orgA, (tx) => tx.execute<{ org: string }>(sql`select current_setting('app.current_org_id') as org`));
    expect(row!.org).toBe(orgA);
  });

  it('refuses a malformed organization id before touching the database', async () => {
    await expect(db.app.withTenant("x' or true --", async () => 1)).rejects.toThrow(/uuid/);
  });

  it('cannot insert, update or delete rows of another organization', async () => {
    await expectRlsViolation(db.app.withTenant(orgA, (tx) => tx.insert(projects).values({ orgId: orgB, name: 'sneaky' })));
    const updated = await db.app.withTenant(orgA, (tx) =>
      tx.update(projects).set({ name: 'hijacked' }).where(sql`${projects.orgId} = ${orgB}`).returning(),
    );
    expect(updated).toHaveLength(0);
    const deleted = await db.app.withTenant(orgA, (tx) => tx.delete(projects).where(sql`${projects.orgId} = ${orgB}`).returning());
    expect(deleted).toHaveLength(0);
    // Moving a row into another organization is a write the WITH CHECK refuses.
    await expectRlsViolation(
      db.app.withTenant(orgA, (tx) => tx.update(projects).set({ orgId: orgB }).where(sql`${projects.name} = 'a1'`)),
    );
    expect(namesIn(await db.app.withTenant(orgB, (tx) => tx.select().from(projects)))).toEqual(['b1']);
  });
});

describe('forgetting withTenant', () => {
  it('reads nothing on a fresh connection', async () => {
    expect(await db.app.db.select().from(projects)).toEqual([]);
  });

  it('reads nothing, without an error, on a pooled connection that served a tenant a moment before', async () => {
    // One connection, so the second query is certain to reuse the backend whose
    // app.current_org_id now reads '' (not NULL) after the tenant transaction.
    const single = createDatabase(db.appUrl, { ca: db.ca, max: 1 });
    try {
      await single.withTenant(orgA, (tx) => tx.select().from(projects));
      const [setting] = await single.sql<{ value: string | null }[]>`select current_setting('app.current_org_id', true) as value`;
      expect(setting!.value).toBe('');
      expect(await single.db.select().from(projects)).toEqual([]);
    } finally {
      await single.close();
    }
  });

  it('has writes rejected by the policy', async () => {
    await expectRlsViolation(db.app.db.insert(projects).values({ orgId: orgA, name: 'outside' }));
  });

  it('also reads nothing as the owner role, because row-level security is forced', async () => {
    expect(await db.admin.db.select().from(projects)).toEqual([]);
    await expectRlsViolation(db.admin.db.insert(projects).values({ orgId: orgA, name: 'owner outside' }));
  });
});

describe('concurrent tenants on a small pool', () => {
  it('never hands one organization the rows of another', async () => {
    const pool = createDatabase(db.appUrl, { ca: db.ca, max: 3 });
    try {
      const jobs = Array.from({ length: 60 }, (_, i) => {
        const org = i % 2 ? orgA : orgB;
        return pool.withTenant(org, async (tx) => {
          // Hold the connection a little so transactions interleave on the 3 backends.
          await tx.execute(sql`select pg_sleep(0.005)`);
          const rows = await tx.select({ orgId: projects.orgId }).from(projects);
          return { org, orgsSeen: [...new Set(rows.map((r) => r.orgId))], count: rows.length };
        });
      });
      for (const result of await Promise.all(jobs)) {
        expect(result.orgsSeen).toEqual([result.org]);
        expect(result.count).toBe(result.org === orgA ? 2 : 1);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('withTenantKey', () => {
  it("records a key's use at most once a minute, and never waits for another request holding the key's row", async () => {
    const { id, key } = await createApiKey(db.admin, orgA, 'long runner');
    const hash = hashApiKey(key);
    const lastUsed = async () => {
      const [row] = await db.admin.withTenant(orgA, (tx) => tx.execute<{ last_used_at: string | null }>(sql`select last_used_at::text from api_keys where id = ${id}`));
      return row!.last_used_at;
    };
    expect(await lastUsed()).toBeNull();
    // A long request (an export, say) touches the key and keeps its transaction open...
    let finish!: () => void;
    const held = new Promise<void>((resolve) => (finish = resolve));
    let entered!: () => void;
    const touched = new Promise<void>((resolve) => (entered = resolve));
    const long = db.app.withTenantKey(hash, async (_tx, found) => {
      expect(found).toEqual({ orgId: orgA, keyId: id });
      entered();
      await held;
    });
    await touched;
    // ...while a short one with the same key still sees the use as unrecorded.
    // It must not queue behind the long one's row lock.
    const short = db.app.withTenantKey(hash, async (_tx, found) => found);
    const outcome = await Promise.race([short, new Promise((resolve) => setTimeout(resolve, 2000, 'waited'))]);
    finish();
    await long;
    expect(outcome).toEqual({ orgId: orgA, keyId: id });
    const first = await lastUsed();
    expect(first).not.toBeNull();
    // Within the minute nothing is written again.
    await db.app.withTenantKey(hash, async () => undefined);
    expect(await lastUsed()).toBe(first);
  });

  it('holds the key for the whole transaction: a revocation or deletion waits for it, and entries after it find nothing', async () => {
    const revocations = [
      // As the request role, the way the route revokes.
      (id: string) => db.app.withTenant(orgA, (tx) => tx.execute(sql`update api_keys set revoked_at = now() where id = ${id}`)),
      // As beheerder, the way an organization's deletion (and its cascade) removes keys.
      (id: string) => db.admin.withTenant(orgA, (tx) => tx.execute(sql`delete from api_keys where id = ${id}`)),
    ];
    for (const revoke of revocations) {
      const { id, key } = await createApiKey(db.admin, orgA, 'held');
      const hash = hashApiKey(key);
      // Its use is recorded now, so the request below writes (and row-locks) nothing of the key.
      await db.app.withTenantKey(hash, async () => undefined);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      // A request in flight, which writes after the revocation was asked for.
      const request = db.app.withTenantKey(hash, async (tx, found) => {
        expect(found).toEqual({ orgId: orgA, keyId: id });
        entered();
        await held;
        await tx.insert(projects).values({ orgId: orgA, name: `written while ${id} was held` });
      });
      await inside;
      const revocation = revoke(id);
      expect(await settledWithin(revocation)).toBe('waiting');
      release();
      await request;
      await revocation;
      const [written] = await db.admin.withTenant(orgA, (tx) => tx.execute(sql`select count(*)::int as n from projects where name = ${`written while ${id} was held`}`));
      expect(written).toEqual({ n: 1 });
      expect(await db.app.withTenantKey(hash, async (_tx, found) => found)).toBeNull();
    }
  });

  it('waits for a revocation under way and then finds the key revoked, rather than entering on the row it was shown before', async () => {
    const { id, key } = await createApiKey(db.admin, orgA, 'revoked meanwhile');
    const hash = hashApiKey(key);
    let commit!: () => void;
    const held = new Promise<void>((resolve) => (commit = resolve));
    let updated!: () => void;
    const revoking = new Promise<void>((resolve) => (updated = resolve));
    const revocation = db.app.withTenant(orgA, async (tx) => {
      await tx.execute(sql`update api_keys set revoked_at = now() where id = ${id}`);
      updated();
      await held;
    });
    await revoking;
    const entry = db.app.withTenantKey(hash, async (tx, found) => ({ found, projects: await tx.select().from(projects) }));
    expect(await settledWithin(entry)).toBe('waiting');
    commit();
    await revocation;
    expect(await entry).toEqual({ found: null, projects: [] });
  });

  it('is revoked by the operator once: a second revocation or an unknown key changes and records nothing', async () => {
    const { id } = await createApiKey(db.admin, orgA, 'operator revokes');
    const revokedAt = async () =>
      (await db.admin.withTenant(orgA, (tx) => tx.execute<{ at: string | null }>(sql`select revoked_at::text as at from api_keys where id = ${id}`)))[0]!.at;
    const recorded = async () => (await db.admin.sql<{ n: number }[]>`select count(*)::int as n from platform_audit_log where target_id = ${id} and action = 'api_key.revoke'`)[0]!.n;
    expect(await revokeApiKey(db.admin, orgA, id)).toBe(true);
    const first = await revokedAt();
    expect(first).not.toBeNull();
    expect(await recorded()).toBe(1);
    expect(await revokeApiKey(db.admin, orgA, id)).toBe(false);
    expect(await revokeApiKey(db.admin, orgA, '00000000-0000-4000-8000-000000000000')).toBe(false);
    expect(await revokedAt()).toBe(first);
    expect(await recorded()).toBe(1);
  });

  it('resolves nothing for an unknown or revoked key, and sets no tenant context then', async () => {
    const { id, key } = await createApiKey(db.admin, orgA, 'to revoke');
    await db.admin.withTenant(orgA, (tx) => tx.execute(sql`update api_keys set revoked_at = now() where id = ${id}`));
    for (const hash of [hashApiKey(key), hashApiKey('km_unknown')]) {
      const seen = await db.app.withTenantKey(hash, async (tx, found) => ({ found, projects: await tx.select().from(projects) }));
      expect(seen).toEqual({ found: null, projects: [] });
    }
  });
});

describe('timestamps', () => {
  it('come out as RFC 3339 in UTC, to the microsecond, through drizzle and raw SQL alike', async () => {
    // Whatever zone the server or database defaults to, the session is UTC.
    const su = connect(db.superuserUrl, { ca: db.ca, max: 1 });
    await su.unsafe(`alter database "${db.name}" set timezone = 'Asia/Kolkata'`);
    const database = createDatabase(db.appUrl, { ca: db.ca, max: 1 });
    try {
      const [raw] = await database.sql<{ at: string; zone: string }[]>`select '2026-11-26 13:30:00.123456+05:30'::timestamptz as at, current_setting('TimeZone') as zone`;
      expect(raw).toEqual({ at: '2026-11-26T08:00:00.123456Z', zone: 'UTC' });
      const [row] = await database.withTenant(orgA, (tx) => tx.select({ createdAt: projects.createdAt }).from(projects).limit(1));
      expect(row!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
      const [special] = await database.sql<{ never: string; ancient: string }[]>`select 'infinity'::timestamptz as never, '0044-03-15 12:00:00+00 BC'::timestamptz as ancient`;
      expect(special).toEqual({ never: 'infinity', ancient: '0044-03-15 12:00:00+00 BC' });
    } finally {
      await database.close();
      await su.unsafe(`alter database "${db.name}" reset timezone`);
      await su.end();
    }
  });
});
