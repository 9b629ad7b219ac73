import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys } from '../db/schema/api-keys.ts';
import { hashApiKey } from '../auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

const run = promisify(execFile);
let db: TestDatabase;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(path.join(tmpdir(), 'kommit-cli-'));
  await writeFile(path.join(dir, 'ca.pem'), db.ca);
  env = { PATH: process.env.PATH, DATABASE_URL: db.appUrl, ADMIN_DATABASE_URL: db.adminUrl, PGSSLROOTCERT: path.join(dir, 'ca.pem') };
});
afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const cli = (script: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: path.resolve(import.meta.dirname, '..'), env: { ...env, ...extra } });
// Database URLs nothing listens on: a command that got as far as the database fails there (exit 1).
const nowhere = { ADMIN_DATABASE_URL: 'postgres://beheerder:x@127.0.0.1:9/kommit', DATABASE_URL: 'postgres://kommit_app:x@127.0.0.1:9/kommit' };

describe('operator CLIs', () => {
  it('create an organization and an API key that is stored only as its hash', async () => {
    const org = await cli('db/cli/orgs-create.ts', ['--name', 'Cli Org']);
    const orgId = org.stdout.trim();
    expect(orgId).toMatch(/^[0-9a-f-]{36}$/);
    const key = await cli('db/cli/keys-create.ts', ['--org', orgId, '--name', 'ci']);
    const secret = key.stdout.trim();
    expect(secret).toMatch(/^km_[\w-]{43}$/);
    expect(key.stderr).toMatch(/only time/);

    const rows = await db.admin.withTenant(orgId, (tx) => tx.select().from(apiKeys));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keyHash.equals(hashApiKey(secret))).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(secret.slice(3));
  });

  it('count their audit rows towards signed checkpoints, in the organization chain and the platform chain', async () => {
    const signing = { AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), AUDIT_CHECKPOINT_EVERY: '1' };
    const platformBefore = (await db.admin.sql<{ n: number }[]>`select count(*)::int as n from platform_audit_checkpoints`)[0]!.n;
    const orgId = (await cli('db/cli/orgs-create.ts', ['--name', 'Signed Org'], signing)).stdout.trim();
    await cli('db/cli/keys-create.ts', ['--org', orgId], signing);
    const checkpoints = await db.admin.withTenant(orgId, (tx) => tx.execute<{ seq: number }>(sql`select seq::int as seq from audit_checkpoints order by seq`));
    expect(checkpoints.map((c) => c.seq)).toEqual([1, 2]);
    const platformAfter = (await db.admin.sql<{ n: number }[]>`select count(*)::int as n from platform_audit_checkpoints`)[0]!.n;
    expect(platformAfter).toBe(platformBefore + 2);
  });

  it('will not make a key for an organization whose deletion was requested', async () => {
    const orgId = (await cli('db/cli/orgs-create.ts', ['--name', 'Leaving Org'])).stdout.trim();
    await db.admin.withTenant(orgId, (tx) => tx.execute(sql`update organizations set deletion_requested_at = now() where id = ${orgId}`));
    await expect(cli('db/cli/keys-create.ts', ['--org', orgId])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/error: organization \S+ is being deleted/) });
    expect(await db.admin.withTenant(orgId, (tx) => tx.select().from(apiKeys))).toEqual([]);
  });

  it('fail with a usage line and exit code 2 on bad arguments, and 1 for an unknown organization', async () => {
    await expect(cli('db/cli/keys-create.ts', ['--org', 'nope'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --org takes an organization uuid, not "nope"\nusage:/) });
    await expect(cli('db/cli/orgs-create.ts', [])).rejects.toMatchObject({ code: 2 });
    await expect(cli('db/cli/keys-create.ts', ['--org', crypto.randomUUID()])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/error: no organization/),
    });
  });

  it('answer a mistyped option, an option without its value, or a stray, missing or malformed argument in two lines (what, then usage), exit code 2, no stack', async () => {
    const mistakes: [string, string[]][] = [
      ['db/cli/orgs-create.ts', ['--name']],
      ['db/cli/orgs-create.ts', ['--nmae', 'Typo']],
      ['db/cli/orgs-create.ts', ['Acme']],
      ['db/cli/keys-create.ts', ['--org']],
      ['db/cli/keys-create.ts', ['--org', crypto.randomUUID(), '--label', 'x']],
      ['db/cli/helpdesk-import.ts', ['--org']],
      ['db/cli/admin-grant.ts', ['someone@example.test', '--revokee']],
      ['db/cli/migrate.ts', ['--bogus']],
      ['db/cli/bootstrap.ts', ['--bogus']],
      // Arguments that parse but do not fit say what is wrong too.
      ['db/cli/orgs-create.ts', []],
      ['db/cli/keys-create.ts', []],
      ['db/cli/keys-create.ts', ['--org', '']],
      ['db/cli/keys-create.ts', ['--org', 'nope']],
      ['db/cli/helpdesk-import.ts', ['--org', crypto.randomUUID()]],
      ['db/cli/helpdesk-import.ts', ['--org', crypto.randomUUID(), 'docs', 'more']],
      ['db/cli/admin-grant.ts', []],
      ['db/cli/admin-grant.ts', ['a@example.test', 'b@example.test']],
      ['worker.ts', ['--bogus']],
    ];
    for (const [script, args] of mistakes) {
      const failed = await cli(script, args).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
      expect(failed, `${script} ${args.join(' ')}`).toMatchObject({ code: 2, stdout: '' });
      const lines = failed!.stderr.trimEnd().split('\n');
      expect(lines, `${script} ${args.join(' ')}: ${failed!.stderr}`).toHaveLength(2);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[1]).toMatch(/^usage: /);
    }
  }, 60_000);

  it('trim a --name as the API does, and refuse a blank or too long one as an argument mistake before any database', async () => {
    const orgId = (await cli('db/cli/orgs-create.ts', ['--name', '  Trimmed Org \t'])).stdout.trim();
    const [org] = await db.admin.withTenant(orgId, (tx) => tx.execute<{ name: string; slug: string }>(sql`select name, slug from organizations where id = ${orgId}`));
    expect(org).toEqual({ name: 'Trimmed Org', slug: 'trimmed-org' });
    // 100 characters once trimmed: the longest POST /v1/api-keys takes.
    await cli('db/cli/keys-create.ts', ['--org', orgId, '--name', ` ${'k'.repeat(100)} `]);
    const keys = await db.admin.withTenant(orgId, (tx) => tx.select({ name: apiKeys.name }).from(apiKeys));
    expect(keys).toEqual([{ name: 'k'.repeat(100) }]);

    const mistakes: [string, string[], string][] = [
      ['db/cli/orgs-create.ts', ['--name', '   '], '--name is blank'],
      ['db/cli/orgs-create.ts', ['--name', ''], '--name is blank'],
      ['db/cli/orgs-create.ts', ['--name', 'o'.repeat(101)], '--name has at most 100 characters, not 101'],
      ['db/cli/keys-create.ts', ['--org', orgId, '--name', ''], '--name is blank'],
      ['db/cli/keys-create.ts', ['--org', orgId, '--name', ' \t '], '--name is blank'],
      ['db/cli/keys-create.ts', ['--org', orgId, '--name', 'k'.repeat(101)], '--name has at most 100 characters, not 101'],
    ];
    for (const [script, args, reason] of mistakes) {
      const failed = await cli(script, args, nowhere).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
      expect(failed, `${script} ${args.join(' ')}`).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(new RegExp(`^error: ${reason}\nusage: npm run \\S+ -- .*\n$`)) });
    }
  }, 60_000);

  it('print their usage to stdout and exit 0 for --help or -h, whatever else is given, touching nothing', async () => {
    const scripts = ['db/cli/orgs-create.ts', 'db/cli/keys-create.ts', 'db/cli/helpdesk-import.ts', 'db/cli/admin-grant.ts', 'db/cli/migrate.ts', 'db/cli/bootstrap.ts', 'worker.ts'];
    for (const script of scripts) {
      for (const args of [['--help'], ['--name', 'Helped', '-h']]) {
        const { stdout, stderr } = await cli(script, args, nowhere);
        expect(stdout, `${script} ${args.join(' ')}`).toMatch(/^usage: npm run \S+.*\n$/);
        expect(stderr, `${script} ${args.join(' ')}`).toBe('');
      }
    }
  }, 90_000);

  it('make the same organization name twice with different slugs, refuse a slug given that is taken in one line (exit 1), a malformed one as an argument mistake before any database (exit 2)', async () => {
    const first = (await cli('db/cli/orgs-create.ts', ['--name', 'Twice Inc'])).stdout.trim();
    const second = (await cli('db/cli/orgs-create.ts', ['--name', 'Twice Inc'])).stdout.trim();
    expect(second).not.toBe(first);
    const slugs = await Promise.all([first, second].map(async (id) => (await db.admin.withTenant(id, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations where id = ${id}`)))[0]!.slug));
    expect(slugs[0]).toBe('twice-inc');
    expect(slugs[1]).toMatch(/^twice-inc-[0-9a-f]{6}$/);
    await expect(cli('db/cli/orgs-create.ts', ['--name', 'Other', '--slug', 'twice-inc'])).rejects.toMatchObject({ code: 1, stderr: 'error: slug "twice-inc" is already taken\n' });
    for (const slug of ['Bad Slug!', 'a'.repeat(101), '']) {
      const malformed = await cli('db/cli/orgs-create.ts', ['--name', 'Other', '--slug', slug], nowhere).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
      expect(malformed, slug).toMatchObject({ code: 2, stdout: '' });
      expect(malformed!.stderr).toBe(`error: --slug "${slug}" is not a slug: lower-case letters and digits in words joined by single hyphens, at most 100 characters\nusage: npm run orgs:create -- --name "Acme" [--slug acme]\n`);
    }
  }, 60_000);

  it('refuse a worker concurrency that is not a whole number, saying which setting', async () => {
    const failed = await cli('worker.ts', [], { WORKER_CONCURRENCY: 'abc' }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    expect(failed!.stderr).toMatch(/WORKER_CONCURRENCY must be a whole number from 1 to 64, not "abc"/);
  });

  it('name the environment db:bootstrap is missing in one error line, then its usage, exit code 2', async () => {
    const cases: [NodeJS.ProcessEnv, string][] = [
      [{}, 'SUPERUSER_DATABASE_URL and AUTH_DATABASE_URL are not set'],
      [{ ADMIN_DATABASE_URL: '', DATABASE_URL: '' }, 'SUPERUSER_DATABASE_URL, DATABASE_URL, AUTH_DATABASE_URL, and ADMIN_DATABASE_URL are not set'],
      [{ ...nowhere, SUPERUSER_DATABASE_URL: nowhere.ADMIN_DATABASE_URL, AUTH_DATABASE_URL: nowhere.ADMIN_DATABASE_URL, DATABASE_URL: '' }, 'DATABASE_URL is not set'],
    ];
    for (const [extra, reason] of cases) {
      const failed = await cli('db/cli/bootstrap.ts', [], extra).then(() => null, (e: { code: number; stdout: string; stderr: string }) => e);
      expect(failed, reason).toMatchObject({ code: 2, stdout: '', stderr: `error: ${reason}\nusage: npm run db:bootstrap   (with SUPERUSER_DATABASE_URL, DATABASE_URL (kommit_app), AUTH_DATABASE_URL (kommit_auth) and ADMIN_DATABASE_URL (beheerder))\n` });
    }
  });

  it('say that migrations were applied, and refuse to run in production without ADMIN_DATABASE_URL', async () => {
    expect((await cli('db/cli/migrate.ts', [])).stderr).toMatch(/migrations applied\n$/);
    const failed = await cli('db/cli/migrate.ts', [], { ADMIN_DATABASE_URL: '', NODE_ENV: 'production' }).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: ADMIN_DATABASE_URL must be set in production/) });
  });
});

describe('npm run admin:grant', () => {
  const operators = async (email: string) =>
    (await db.admin.sql`select 1 from platform_operators o join users u on u.id = o.user_id where u.email = ${email}`).length;

  it('makes an existing user a platform operator, and takes it back, only on the admin role', async () => {
    const email = `op-${Math.random().toString(36).slice(2, 8)}@example.test`;
    await db.identity.sql`insert into users (name, email) values ('Op', ${email})`;
    const granted = await cli('db/cli/admin-grant.ts', [email]);
    expect(granted.stderr).toMatch(/is now a platform operator/);
    expect(granted.stderr).toMatch(/One-time set-up code/);
    const code = granted.stdout.trim();
    expect(code).toMatch(/^[\w-]{32}$/);
    expect(await operators(email)).toBe(1);
    const again = await cli('db/cli/admin-grant.ts', [email]);
    expect(again.stderr).toMatch(/already was a platform operator/);
    // A new code replaces the first; only its hash is stored.
    expect(again.stdout.trim()).not.toBe(code);
    const [stored] = await db.admin.sql<{ hash: Buffer }[]>`select setup_token_hash as hash from platform_operators o join users u on u.id = o.user_id where u.email = ${email}`;
    expect(stored!.hash.equals(createHash('sha256').update(again.stdout.trim()).digest())).toBe(true);

    // With the request role's URL as the admin URL, nothing is granted.
    await expect(cli('db/cli/admin-grant.ts', [email, '--revoke'], { ADMIN_DATABASE_URL: db.appUrl })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/admin:grant connected as role "kommit_app", expected "beheerder"/),
    });
    expect(await operators(email)).toBe(1);

    expect((await cli('db/cli/admin-grant.ts', [email, '--revoke'])).stderr).toMatch(/is no longer a platform operator/);
    expect(await operators(email)).toBe(0);
    const recorded = await db.admin.sql<{ action: string; actor_type: string; actor_id: string }[]>`
      select action, actor_type, actor_id from platform_audit_log where data->>'email' = ${email} order by seq`;
    expect(recorded.map((r) => r.action)).toEqual(['operator.grant', 'operator.setup_token', 'operator.revoke']);
    for (const row of recorded) expect(row).toMatchObject({ actor_type: 'system', actor_id: expect.stringMatching(/^admin:grant by \S+@\S+$/) });
  });

  it('says what is wrong: no such user, no email, no admin URL', async () => {
    await expect(cli('db/cli/admin-grant.ts', ['nobody@example.test'])).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/no user with email nobody@example.test/) });
    await expect(cli('db/cli/admin-grant.ts', [])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: the user's email is missing\nusage: npm run admin:grant/) });
    await expect(cli('db/cli/admin-grant.ts', ['x@example.test'], { ADMIN_DATABASE_URL: '' })).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ADMIN_DATABASE_URL is not set/) });
  });
});
