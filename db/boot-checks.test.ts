import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { freePort } from '../test/ports.ts';
import { checkAppConnection } from './boot-checks.ts';
import { connect, type Sql } from './connection.ts';
import { startEmbeddedPostgres } from './embedded.ts';
import { DEFAULT_ROLES } from './roles.ts';

let db: TestDatabase;
let su: Sql;
const suffix = randomBytes(4).toString('hex');
const created: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  su = connect(db.superuserUrl, { max: 1, ca: db.ca });
});
afterAll(async () => {
  for (const role of created) await su.unsafe(`drop owned by ${role} cascade; drop role ${role}`);
  await su.end();
  await db.close();
});

/**
 * A login role set up like kommit_app (the grant group, connect) but for one
 * flaw, and the problems the boot check finds when it is the configured role.
 */
async function problemsFor(flaw: string, attributes: string, after?: (role: string) => Promise<unknown>) {
  const role = `boot_${flaw}_${suffix}`;
  const password = randomBytes(12).toString('hex');
  await su.unsafe(`create role ${role} login ${attributes} password '${password}'`);
  created.push(role);
  await su.unsafe(`grant kommit_rw to ${role}`);
  await after?.(role);
  const url = new URL(db.appUrl);
  url.username = role;
  url.password = password;
  const sql = connect(url.toString(), { max: 1, ca: db.ca });
  try {
    return await checkAppConnection(sql, { ...DEFAULT_ROLES, app: role });
  } finally {
    await sql.end();
  }
}

describe('boot checks on the request connection', () => {
  it('pass for kommit_app over TLS on the migrated schema', async () => {
    expect(await checkAppConnection(db.app.sql, DEFAULT_ROLES)).toEqual([]);
  });

  it('refuse a connection as another role than the configured one', async () => {
    expect(await checkAppConnection(db.app.sql, { ...DEFAULT_ROLES, app: 'someone_else' })).toEqual([
      'connected as role "kommit_app", expected "someone_else"',
    ]);
  });

  it('refuse a superuser', async () => {
    const problems = await problemsFor('super', 'superuser');
    expect(problems).toContain(`role "boot_super_${suffix}" is a superuser`);
  });

  it('refuse BYPASSRLS', async () => {
    expect(await problemsFor('bypass', 'bypassrls')).toEqual([`role "boot_bypass_${suffix}" has BYPASSRLS`]);
  });

  it('refuse CREATEROLE', async () => {
    expect(await problemsFor('createrole', 'createrole')).toEqual([`role "boot_createrole_${suffix}" has CREATEROLE`]);
  });

  it('refuse CREATEDB', async () => {
    expect(await problemsFor('createdb', 'createdb')).toEqual([`role "boot_createdb_${suffix}" has CREATEDB`]);
  });

  it('refuse a member of the owner role', async () => {
    const problems = await problemsFor('member', '', (role) => su.unsafe(`grant beheerder to ${role}`));
    expect(problems).toContain(`role "boot_member_${suffix}" is a member of the owner role "beheerder"`);
  });

  it('refuse a member of a predefined role such as pg_read_all_data', async () => {
    const problems = await problemsFor('readall', '', (role) => su.unsafe(`grant pg_read_all_data to ${role}`));
    expect(problems).toContain(`role "boot_readall_${suffix}" is a member of role "pg_read_all_data"`);
  });

  it('refuse a role that owns a table', async () => {
    const problems = await problemsFor('owner', '', async (role) => {
      await su.unsafe(`create table owned_${suffix} (id int)`);
      await su.unsafe(`alter table owned_${suffix} owner to ${role}`);
    });
    expect(problems).toEqual([`role "boot_owner_${suffix}" owns owned_${suffix}`]);
  });
});

describe('boot checks on the schema', () => {
  // Each case breaks one tenant table in this file's own database, then mends it.
  async function problemsWith(breakIt: string, mendIt: string) {
    await su.unsafe(breakIt);
    try {
      return await checkAppConnection(db.app.sql, DEFAULT_ROLES);
    } finally {
      await su.unsafe(mendIt);
    }
  }

  it('refuse a tenant table without row-level security enabled', async () => {
    expect(await problemsWith('alter table projects disable row level security', 'alter table projects enable row level security')).toEqual([
      'tenant table projects does not have row-level security enabled',
    ]);
  });

  it('refuse a tenant table whose row-level security is not forced', async () => {
    expect(await problemsWith('alter table projects no force row level security', 'alter table projects force row level security')).toEqual([
      'tenant table projects does not force row-level security',
    ]);
  });

  it('refuse a tenant table missing a policy for one command', async () => {
    expect(await problemsWith('drop policy tenant_delete on api_keys', "select kommit_enforce_tenant_rls('api_keys')")).toEqual([
      'tenant table api_keys has no policy for DELETE',
    ]);
  });

  it('refuse the tenancy root organizations without forced row-level security', async () => {
    expect(await problemsWith('alter table organizations no force row level security', 'alter table organizations force row level security')).toEqual([
      'tenant table organizations does not force row-level security',
    ]);
  });

  it('refuse a new table with org_id and no row-level security at all', async () => {
    const problems = await problemsWith(
      `create table rogue_${suffix} (org_id uuid, secret text)`,
      `drop table rogue_${suffix}`,
    );
    expect(problems).toEqual([
      `tenant table rogue_${suffix} does not have row-level security enabled`,
      `tenant table rogue_${suffix} has no policy for SELECT, INSERT, UPDATE, DELETE`,
    ]);
  });
});

describe('boot checks on the transport', () => {
  it('refuse a connection that is not TLS', async () => {
    // hostssl-only servers cannot even be reached without TLS, so this case needs
    // a server that allows plain connections: a second, throwaway cluster.
    const dir = await mkdtemp(path.join(tmpdir(), 'kommit-plain-'));
    await chmod(dir, 0o755);
    const cluster = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port: await freePort(),
      superuserPassword: 'plain-test',
      tls: false,
      persistent: false,
    });
    const sql = connect(cluster.superuserUrl, { max: 1 });
    try {
      const problems = await checkAppConnection(sql, { ...DEFAULT_ROLES, app: 'postgres' });
      expect(problems).toContain('the database connection is not TLS');
    } finally {
      await sql.end();
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
