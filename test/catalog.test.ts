import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantTableSecurity } from '../db/boot-checks.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { postgresError } from './expect.ts';

// Isolation seen from the catalog: whatever tables exist now or are added later,
// each one with an org_id column must carry the whole boundary.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.close());

// How Postgres prints the template's expression back (the alias differs by version).
// The column is org_id everywhere except on the tenancy root, organizations, whose own id is the tenant:
// an `id = …` policy on any other table would compare the row's own id with the tenant and admit nothing
// (or, worse, the one row whose id happens to equal the tenant's).
const tenantMatch = (table: string) =>
  new RegExp(
    `^\\(${table === 'organizations' ? 'id' : 'org_id'} = \\( SELECT \\(NULLIF\\(current_setting\\('app\\.current_org_id'::text, true\\), ''::text\\)\\)::uuid AS \\S+\\)\\)$`,
  );

describe('every table with org_id', () => {
  it('exists at all (the catalog query finds the tenant tables)', async () => {
    const tables = (await tenantTableSecurity(db.app.sql)).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['projects', 'api_keys']));
  });

  it('has row-level security enabled and forced, with a policy per command built from the template', async () => {
    for (const table of await tenantTableSecurity(db.app.sql)) {
      expect(table, table.name).toMatchObject({ rls_enabled: true, rls_forced: true });
      const policies = await db.app.sql<{ cmd: string; qual: string | null; with_check: string | null }[]>`
        select cmd, qual, with_check from pg_policies where tablename = ${table.name} and roles = '{public}' order by cmd`;
      expect(policies.map((p) => p.cmd).sort(), table.name).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
      for (const policy of policies) {
        if (policy.cmd !== 'INSERT') expect(policy.qual, `${table.name} ${policy.cmd}`).toMatch(tenantMatch(table.name));
        if (policy.cmd === 'INSERT' || policy.cmd === 'UPDATE') expect(policy.with_check, `${table.name} ${policy.cmd}`).toMatch(tenantMatch(table.name));
      }
    }
  });

  it('has no policy beyond the template except the auth role’s, on the auth tables only', async () => {
    const others = await db.app.sql<{ tablename: string; roles: string[] }[]>`
      select tablename, roles from pg_policies where roles <> '{public}' order by tablename`;
    expect(others).toEqual(
      ['invitations', 'members', 'organizations'].map((tablename) => ({ tablename, roles: ['kommit_identity'] })),
    );
  });

  it('references organizations with ON DELETE CASCADE, has org_id NOT NULL and an index leading with org_id', async () => {
    const rows = await db.app.sql<{ name: string; cascade: boolean; not_null: boolean; leading_index: boolean }[]>`
      select c.relname as name,
        exists (select 1 from pg_constraint k
                where k.conrelid = c.oid and k.contype = 'f' and k.confrelid = 'organizations'::regclass
                  and k.confdeltype = 'c' and k.conkey = array[a.attnum]) as cascade,
        a.attnotnull as not_null,
        exists (select 1 from pg_index i where i.indrelid = c.oid and i.indkey[0] = a.attnum) as leading_index
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
      where c.relkind in ('r', 'p')`;
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row, row.name).toEqual({ name: row.name, cascade: true, not_null: true, leading_index: true });
  });

  it('has an index for every foreign key it holds, so cascades and batched deletes never scan a table per row', async () => {
    const unindexed = await db.app.sql<{ name: string }[]>`
      select f.conrelid::regclass::text || '.' || f.conname as name
      from pg_constraint f
      where f.contype = 'f' and f.connamespace = 'public'::regnamespace
        and not exists (
          select 1 from pg_index i
          where i.indrelid = f.conrelid
            and (i.indkey::int2[])[0:cardinality(f.conkey) - 1] @> f.conkey
            and (i.indkey::int2[])[0:cardinality(f.conkey) - 1] <@ f.conkey)
      order by 1`;
    expect(unindexed.map((u) => u.name)).toEqual([]);
  });

  it('references other tenant tables only with composite keys that include org_id', async () => {
    // A reference by id alone could point into another tenant: referential
    // checks and cascades bypass row-level security.
    const references = await db.app.sql<{ name: string; columns: string[] }[]>`
      select k.conname as name,
             array(select a.attname::text from unnest(k.conkey) as c(n) join pg_attribute a on a.attrelid = k.conrelid and a.attnum = c.n) as columns
      from pg_constraint k
      where k.contype = 'f'
        and exists (select 1 from pg_attribute a where a.attrelid = k.conrelid and a.attname = 'org_id')
        and exists (select 1 from pg_attribute a where a.attrelid = k.confrelid and a.attname = 'org_id')`;
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) expect(reference.columns, reference.name).toContain('org_id');
  });

  it('has no unique constraint that leaves org_id out (a global unique would reveal other tenants’ values)', async () => {
    const offenders = await db.app.sql<{ name: string }[]>`
      select i.indexrelid::regclass::text as name
      from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attname = 'org_id'
      where i.indisunique and not (a.attnum = any (i.indkey))`;
    expect(offenders).toEqual([]);
  });
});

describe('the auth role kommit_auth', () => {
  it('appends to audit chains and nothing more: moves a head, adds rows and checkpoints, reads no row’s content', async () => {
    const grants = await db.admin.sql<{ grant: string }[]>`
      select c.relname || ' ' || g.privilege_type as grant
      from pg_class c, aclexplode(c.relacl) g
      where c.relname like 'audit%' and g.grantee = 'kommit_identity'::regrole
      union all
      select c.relname || '.' || a.attname || ' ' || g.privilege_type
      from pg_class c join pg_attribute a on a.attrelid = c.oid, aclexplode(a.attacl) g
      where c.relname like 'audit%' and g.grantee = 'kommit_identity'::regrole
      order by 1`;
    expect(grants.map((g) => g.grant)).toEqual([
      'audit_chain_heads SELECT',
      'audit_chain_heads UPDATE',
      'audit_checkpoints INSERT',
      'audit_checkpoints.org_id SELECT',
      'audit_checkpoints.seq SELECT',
      'audit_log INSERT',
      'audit_log.seq SELECT',
    ]);
    for (const statement of ['select data from audit_log', 'update audit_log set action = action', 'delete from audit_checkpoints', 'delete from audit_chain_heads']) {
      const error = await db.identity.sql.unsafe(statement).then(() => undefined, (e: unknown) => e);
      expect(postgresError(error).code, statement).toBe('42501');
    }
  });
});

describe('the request role kommit_app', () => {
  it('owns nothing in the database', async () => {
    const owned = await db.app.sql`
      select c.oid::regclass::text from pg_class c where c.relowner = (select oid from pg_roles where rolname = 'kommit_app')
      union all select n.nspname from pg_namespace n where n.nspowner = (select oid from pg_roles where rolname = 'kommit_app')
      union all select p.proname from pg_proc p where p.proowner = (select oid from pg_roles where rolname = 'kommit_app')`;
    expect(owned).toEqual([]);
  });

  it('cannot TRUNCATE, run DDL, become the owner role, or change an organization row', async () => {
    for (const statement of [
      'truncate projects',
      'drop table projects',
      'alter table projects disable row level security',
      'create table rogue (id int)',
      'set role beheerder',
      'set role kommit_resolver',
      'update organizations set deletion_requested_at = null',
    ]) {
      const error = await db.app.sql.unsafe(statement).then(() => undefined, (e: unknown) => e);
      expect(postgresError(error).code, statement).toMatch(/^(42501|42P01)$/);
      expect(postgresError(error).message, statement).toMatch(/permission denied|must be owner/);
    }
  });

  it('holds TRUNCATE, REFERENCES and TRIGGER on no table (TRUNCATE ignores row-level security)', async () => {
    const tables = await db.app.sql<{ name: string; held: boolean }[]>`
      select c.oid::regclass::text as name, has_table_privilege('kommit_app', c.oid, 'TRUNCATE,REFERENCES,TRIGGER') as held
      from pg_class c join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      where c.relkind in ('r', 'p')
      order by 1`;
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['organizations', 'projects', 'audit_log']));
    expect(tables.filter((t) => t.held).map((t) => t.name)).toEqual([]);
  });

  it('reaches the job queue only through kommit_enqueue: its own organization, listed tasks', async () => {
    const [usage] = await db.app.sql`select has_schema_privilege('graphile_worker', 'USAGE') as usage`;
    expect(usage).toEqual({ usage: false });
    const denied = await db.app.sql`select graphile_worker.add_job('search.index', '{}'::json)`.then(() => undefined, (e: unknown) => e);
    expect(postgresError(denied).code).toBe('42501');
    const outside = await db.app.sql`select kommit_enqueue('search.index', '{}'::jsonb)`.then(() => undefined, (e: unknown) => e);
    expect(postgresError(outside).message).toContain('needs a tenant context');

    const orgId = randomUUID();
    const otherOrg = randomUUID();
    const unlisted = await db.app
      .withTenant(orgId, (tx) => tx.execute(sql`select kommit_enqueue('worker.anything', '{}'::jsonb)`))
      .then(() => undefined, (e: unknown) => e);
    expect(postgresError(unlisted).message).toContain('cannot be queued from a tenant transaction');
    // A payload naming another organization is overwritten with the tenant's own.
    await db.app.withTenant(orgId, (tx) => tx.execute(sql`select kommit_enqueue('search.index', ${JSON.stringify({ orgId: otherOrg, id: 'x' })}::jsonb, 'k')`));
    const jobs = await db.admin.sql`
      select j.payload, j.key from graphile_worker._private_jobs j where j.key like ${`%/k`}`;
    expect(jobs).toEqual([{ payload: { orgId, id: 'x' }, key: `${orgId}/k` }]);
    await db.admin.sql`delete from graphile_worker._private_jobs`;
  });

  it('has no role attribute that could step around row-level security', async () => {
    const [role] = await db.app.sql`
      select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication from pg_roles where rolname = current_user`;
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false });
  });

  it('reaches across tenants only through SECURITY DEFINER functions with a pinned search_path', async () => {
    const definers = await db.app.sql<{ name: string; config: string[] | null }[]>`
      select p.proname as name, p.proconfig as config from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'public'
      where p.prosecdef`;
    expect(definers.length).toBeGreaterThan(0);
    // pg_temp named last (or pg_catalog alone) keeps temporary tables from shadowing catalog names.
    for (const fn of definers) expect(fn.config?.find((c) => c.startsWith('search_path=')), fn.name).toMatch(/^search_path=pg_catalog(, pg_temp)?$/);
  });
});
