import { connect, type Sql } from './connection.ts';
import { reasonOf } from './query-errors.ts';
import { GRANT_GROUP_ROLE, IDENTITY_GROUP_ROLE, RESOLVER_ROLE } from './roles.ts';

export interface BootstrapTarget {
  /** A superuser connection to any database of the cluster (usually `postgres`). */
  superuserUrl: string;
  /** kommit_app's URL: user, password and database are taken from it. */
  appUrl: string;
  /** beheerder's URL: user, password and database are taken from it. */
  adminUrl: string;
  /** kommit_auth's URL (Better Auth's connection): user, password and database are taken from it. */
  authUrl: string;
  ca?: string;
  log?: (line: string) => void;
}

interface Login {
  user: string;
  password: string;
  database: string;
}

function loginFrom(databaseUrl: string): Login {
  const url = new URL(databaseUrl);
  const login = {
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
  };
  if (!login.user || !login.password || !login.database) {
    throw new Error(`database URL for "${login.user || '?'}" must name a user, a password and a database`);
  }
  return login;
}

/** Runs DDL built with format(): role names and passwords can't be bind parameters. */
async function exec(sql: Sql, template: string, ...args: string[]) {
  const placeholders = args.map((_, i) => `$${i + 2}::text`).join(', ');
  const [row] = await sql.unsafe<{ statement: string }[]>(
    `select format($1::text${placeholders ? ', ' + placeholders : ''}) as statement`,
    [template, ...args],
  );
  await sql.unsafe(row!.statement);
}

async function roleExists(sql: Sql, role: string) {
  const rows = await sql`select 1 from pg_roles where rolname = ${role}`;
  return rows.length > 0;
}

async function ensureRole(sql: Sql, role: string, attributes: string, password?: string) {
  const verb = (await roleExists(sql, role)) ? 'ALTER' : 'CREATE';
  if (password) await exec(sql, `${verb} ROLE %I WITH ${attributes} PASSWORD %L`, role, password);
  else await exec(sql, `${verb} ROLE %I WITH ${attributes}`, role);
}

/**
 * Creates (or brings back in line) both login roles, the grant group, the
 * resolver role and the database. Safe to run any number of times.
 */
export async function bootstrapDatabase(target: BootstrapTarget) {
  const log = target.log ?? (() => {});
  const app = loginFrom(target.appUrl);
  const admin = loginFrom(target.adminUrl);
  const auth = loginFrom(target.authUrl);
  if (app.database !== admin.database || auth.database !== admin.database) {
    throw new Error('DATABASE_URL, ADMIN_DATABASE_URL and AUTH_DATABASE_URL must name the same database');
  }
  if (new Set([app.user, admin.user, auth.user]).size !== 3) throw new Error('the app, admin and auth roles must be three different roles');

  const su = connect(target.superuserUrl, { max: 1, ca: target.ca, applicationName: 'kommit-bootstrap' });
  try {
    const restricted = 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION';
    await ensureRole(su, admin.user, `LOGIN ${restricted}`, admin.password);
    await ensureRole(su, GRANT_GROUP_ROLE, `NOLOGIN ${restricted}`);
    await ensureRole(su, IDENTITY_GROUP_ROLE, `NOLOGIN ${restricted}`);
    await ensureRole(su, RESOLVER_ROLE, 'NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION');
    await ensureRole(su, app.user, `LOGIN INHERIT ${restricted}`, app.password);
    await exec(su, 'GRANT %I TO %I', GRANT_GROUP_ROLE, app.user);
    await ensureRole(su, auth.user, `LOGIN INHERIT ${restricted}`, auth.password);
    await exec(su, 'GRANT %I TO %I', IDENTITY_GROUP_ROLE, auth.user);
    await exec(su, 'GRANT %I TO %I', RESOLVER_ROLE, admin.user);
    log(`roles ready: ${app.user}, ${auth.user}, ${admin.user}`);

    const exists = await su`select 1 from pg_database where datname = ${app.database}`;
    if (exists.length === 0) {
      await exec(su, 'CREATE DATABASE %I OWNER %I', app.database, admin.user);
      log(`database ${app.database} created`);
    }
  } finally {
    await su.end();
  }
  await secureDatabase(target.superuserUrl, app.database, admin.user, target.ca, log);
}

/**
 * Database-level privileges. CREATE DATABASE ... TEMPLATE does not copy these,
 * so test databases cloned from a template run this again.
 */
export async function secureDatabase(superuserUrl: string, database: string, adminRole: string, ca?: string, log: (line: string) => void = () => {}) {
  const url = new URL(superuserUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  const su = connect(url.toString(), { max: 1, ca, applicationName: 'kommit-bootstrap' });
  try {
    await exec(su, 'ALTER DATABASE %I OWNER TO %I', database, adminRole);
    await exec(su, 'REVOKE ALL ON DATABASE %I FROM PUBLIC', database);
    await exec(su, 'GRANT CONNECT ON DATABASE %I TO %I, %I', database, GRANT_GROUP_ROLE, IDENTITY_GROUP_ROLE);
    await exec(su, 'ALTER SCHEMA public OWNER TO %I', adminRole);
    await su.unsafe('REVOKE ALL ON SCHEMA public FROM PUBLIC');
    await exec(su, 'GRANT USAGE ON SCHEMA public TO %I, %I, %I', GRANT_GROUP_ROLE, IDENTITY_GROUP_ROLE, RESOLVER_ROLE);
    // Search scores vectors with pgvector where the server has it (db/pgvector/install.sh
    // builds it for the embedded one); creating it takes a superuser, hence here.
    const [vector] = await su<{ available: boolean }[]>`select exists (select 1 from pg_available_extensions where name = 'vector') as available`;
    if (vector!.available) {
      // A broken build (a control file whose library does not load) leaves search on plain SQL rather than stopping the platform.
      await su.unsafe('CREATE EXTENSION IF NOT EXISTS vector SCHEMA public').catch((error: unknown) => log(`pgvector not enabled, search scores vectors in plain SQL: ${reasonOf(error)}`));
    }
  } finally {
    await su.end();
  }
}
