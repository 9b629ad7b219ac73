import type { Sql } from './connection.ts';
import { GRANT_GROUP_ROLE, IDENTITY_GROUP_ROLE, type RoleNames } from './roles.ts';

/**
 * Layer 1 of the tenancy boundary, checked before the process serves anything:
 * the request connection must be the restricted role, over TLS, against a
 * schema whose every tenant table has enabled and forced RLS with a policy for
 * each command. Returns the problems found; an empty list means boot may go on.
 */
export async function checkAppConnection(sql: Sql, roles: RoleNames): Promise<string[]> {
  return [...(await checkRole(sql, { expected: roles.app, group: GRANT_GROUP_ROLE, owner: roles.admin })), ...(await checkTenantTables(sql))];
}

/** Better Auth's connection: restricted the same way, its only group the identity group. */
export function checkAuthConnection(sql: Sql, roles: RoleNames): Promise<string[]> {
  return checkRole(sql, { expected: roles.auth, group: IDENTITY_GROUP_ROLE, owner: roles.admin });
}

/**
 * The worker's connection: the schema owner (jobs run DDL-free, but the queue
 * lives in beheerder's schema), never a superuser nor BYPASSRLS, so tenant
 * data stays behind withTenant there too; and TLS.
 */
export async function checkWorkerConnection(sql: Sql, roles: RoleNames, who = 'worker'): Promise<string[]> {
  const [me] = await sql<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean; ssl: boolean | null }[]>`
    select r.rolname, r.rolsuper, r.rolbypassrls, (select s.ssl from pg_stat_ssl s where s.pid = pg_backend_pid()) as ssl
    from pg_roles r where r.rolname = current_user`;
  if (!me) return ['the connection role has no pg_roles row'];
  const problems: string[] = [];
  if (me.rolname !== roles.admin) problems.push(`${who} connected as role "${me.rolname}", expected "${roles.admin}"`);
  if (me.rolsuper) problems.push(`role "${me.rolname}" is a superuser`);
  if (me.rolbypassrls) problems.push(`role "${me.rolname}" has BYPASSRLS`);
  if (!me.ssl) problems.push('the database connection is not TLS');
  return problems;
}

interface RoleExpectation {
  expected: string;
  /** The one role it may be a member of (it inherits its grants). */
  group: string;
  owner: string;
}

async function checkRole(sql: Sql, roles: RoleExpectation): Promise<string[]> {
  const problems: string[] = [];

  const [me] = await sql<
    { rolname: string; rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean; ssl: boolean | null }[]
  >`
    select r.rolname, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb,
           (select s.ssl from pg_stat_ssl s where s.pid = pg_backend_pid()) as ssl
    from pg_roles r where r.rolname = current_user`;
  if (!me) return ['the connection role has no pg_roles row'];

  if (me.rolname !== roles.expected) problems.push(`connected as role "${me.rolname}", expected "${roles.expected}"`);
  if (me.rolsuper) problems.push(`role "${me.rolname}" is a superuser`);
  if (me.rolbypassrls) problems.push(`role "${me.rolname}" has BYPASSRLS`);
  if (me.rolcreaterole) problems.push(`role "${me.rolname}" has CREATEROLE`);
  if (me.rolcreatedb) problems.push(`role "${me.rolname}" has CREATEDB`);
  if (!me.ssl) problems.push('the database connection is not TLS');

  // Membership in any role but the grant group could lend the request role an
  // owner's rights (SET ROLE) or another role's privileges; that includes the
  // predefined pg_* roles (pg_read_all_data reads every table, RLS or not).
  const memberships = await sql<{ rolname: string }[]>`
    select r.rolname from pg_roles r
    where r.rolname <> current_user and pg_has_role(current_user, r.oid, 'MEMBER')
      and r.rolname <> ${roles.group}
    order by 1`;
  const ownerMembership = memberships.find((m) => m.rolname === roles.owner);
  if (ownerMembership) problems.push(`role "${me.rolname}" is a member of the owner role "${roles.owner}"`);
  for (const m of memberships) {
    if (m !== ownerMembership) problems.push(`role "${me.rolname}" is a member of role "${m.rolname}"`);
  }

  const owned = await sql<{ name: string }[]>`
    select c.oid::regclass::text as name from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
      and pg_has_role(current_user, c.relowner, 'MEMBER')
    order by 1 limit 5`;
  if (owned.length) problems.push(`role "${me.rolname}" owns ${owned.map((o) => o.name).join(', ')}`);
  return problems;
}

async function checkTenantTables(sql: Sql): Promise<string[]> {
  const problems: string[] = [];
  for (const table of await tenantTableSecurity(sql)) {
    if (!table.rls_enabled) problems.push(`tenant table ${table.name} does not have row-level security enabled`);
    else if (!table.rls_forced) problems.push(`tenant table ${table.name} does not force row-level security`);
    const missing = (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const).filter(
      (command) => !table.commands.includes(command) && !table.commands.includes('ALL'),
    );
    if (missing.length) problems.push(`tenant table ${table.name} has no policy for ${missing.join(', ')}`);
  }
  return problems;
}

export interface TenantTableSecurity {
  name: string;
  rls_enabled: boolean;
  rls_forced: boolean;
  commands: string[];
}

/**
 * Every table with an org_id column, and the tenancy root organizations, with
 * their RLS flags and the commands covered by policies that apply to every
 * role. Policies for one named role (the auth role's) do not count: they
 * restrict no one else.
 */
export function tenantTableSecurity(sql: Sql) {
  return sql<TenantTableSecurity[]>`
    select c.oid::regclass::text as name,
           c.relrowsecurity as rls_enabled,
           c.relforcerowsecurity as rls_forced,
           coalesce(array(select p.cmd::text from pg_policies p
                          where p.schemaname = n.nspname and p.tablename = c.relname
                            and p.roles = '{public}'), '{}') as commands
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
      and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped)
           or (n.nspname = 'public' and c.relname = 'organizations'))
    order by 1`;
}

export class BootCheckError extends Error {
  constructor(readonly problems: string[]) {
    super(`refusing to start: ${problems.join('; ')}`);
  }
}

/** Throws a BootCheckError naming every problem a check found. */
export async function assertConnection(check: Promise<string[]>) {
  const problems = await check;
  if (problems.length) throw new BootCheckError(problems);
}
