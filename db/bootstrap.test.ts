import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { bootstrapDatabase } from './bootstrap.ts';
import { checkAppConnection } from './boot-checks.ts';
import { connect, type Sql } from './connection.ts';
import { migrateDatabase } from './migrate.ts';

// db:bootstrap against the test cluster, with role and database names of its
// own so it cannot disturb the roles other test files use.
const pg = inject('postgres');
const suffix = randomBytes(4).toString('hex');
const names = { app: `bs_app_${suffix}`, admin: `bs_admin_${suffix}`, auth: `bs_auth_${suffix}`, database: `bs_db_${suffix}` };
const url = (user: string, password: string) => `postgres://${user}:${password}@localhost:${pg.port}/${names.database}`;
const appUrl = url(names.app, 'app-Pw_1');
const adminUrl = url(names.admin, "adm'in pw");
const authUrl = url(names.auth, 'auth-pw');
let su: Sql;

beforeAll(() => {
  su = connect(pg.superuserUrl, { max: 1, ca: pg.ca });
});
afterAll(async () => {
  await su.unsafe(`drop database if exists ${names.database} with (force)`);
  await su.unsafe(`drop role if exists ${names.app}; drop role if exists ${names.admin}; drop role if exists ${names.auth}`);
  await su.end();
});

async function attributes(role: string) {
  const [row] = await su`
    select rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole,
           pg_has_role(${role}, 'kommit_rw', 'MEMBER') as in_group,
           pg_has_role(${role}, 'kommit_resolver', 'MEMBER') as in_resolver
    from pg_roles where rolname = ${role}`;
  return row;
}

describe('bootstrapDatabase', () => {
  it('creates both roles and the database, and running it again changes nothing', async () => {
    const target = { superuserUrl: pg.superuserUrl, appUrl, adminUrl, authUrl, ca: pg.ca };
    await bootstrapDatabase(target);
    await bootstrapDatabase(target);
    expect(await attributes(names.app)).toEqual({
      rolcanlogin: true, rolsuper: false, rolbypassrls: false, rolcreatedb: false, rolcreaterole: false, in_group: true, in_resolver: false,
    });
    expect(await attributes(names.admin)).toMatchObject({ rolcanlogin: true, rolsuper: false, rolbypassrls: false, rolcreaterole: false, in_resolver: true });
    const [db] = await su`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${names.database}`;
    expect(db!.owner).toBe(names.admin);

    await migrateDatabase(adminUrl, pg.ca);
    const app = connect(appUrl, { max: 1, ca: pg.ca });
    try {
      expect(await checkAppConnection(app, { app: names.app, admin: names.admin, auth: names.auth })).toEqual([]);
    } finally {
      await app.end();
    }
  });

  it('brings a drifted role back in line and takes the password from the URL', async () => {
    await su.unsafe(`alter role ${names.app} createdb bypassrls password 'stale'`);
    await bootstrapDatabase({ superuserUrl: pg.superuserUrl, appUrl, adminUrl, authUrl, ca: pg.ca });
    expect(await attributes(names.app)).toMatchObject({ rolcreatedb: false, rolbypassrls: false });
    const app = connect(appUrl, { max: 1, ca: pg.ca });
    try {
      expect(await app`select current_user as me`).toEqual([{ me: names.app }]);
    } finally {
      await app.end();
    }
  });

  it('refuses URLs without a password or naming different databases', async () => {
    await expect(
      bootstrapDatabase({ superuserUrl: pg.superuserUrl, appUrl: `postgres://x@localhost/${names.database}`, adminUrl, authUrl, ca: pg.ca }),
    ).rejects.toThrow(/password/);
    await expect(
      bootstrapDatabase({ superuserUrl: pg.superuserUrl, appUrl: url(names.app, 'a').replace(names.database, 'other'), adminUrl, authUrl, ca: pg.ca }),
    ).rejects.toThrow(/same database/);
  });
});
