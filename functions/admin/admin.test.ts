import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setOperator } from '../../db/admin/grants.ts';
import { verifyPlatformChain } from '../../db/admin/platform-audit.ts';
import { BootCheckError } from '../../db/boot-checks.ts';
import { selectFunctions } from '../index.ts';
import { ADMIN_TEST_SIGNER, startAdminServer, totp } from '../../test/admin.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { shownMessages, uniqueEmail, UserAgent, type AgentResponse } from '../../test/user-agent.ts';

const env = useTestServer();
let admin: Awaited<ReturnType<typeof startAdminServer>>;
let acme: TestTenant;
let globex: TestTenant;

beforeAll(async () => {
  admin = await startAdminServer(env.db);
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
});
afterAll(async () => {
  await admin?.close();
});

const PASSWORD = 'correct horse battery';

const grant = (email: string, on = true) => setOperator(env.db.admin, email, on, { grantedBy: 'admin:grant by test', signer: ADMIN_TEST_SIGNER });

/** A Kommit user (signed up in the public app), optionally made an operator by the grant verb (with its set-up code). */
async function user(operator: boolean) {
  const email = uniqueEmail('operator');
  const { id } = await new UserAgent(env.server).signUp(email);
  const setupCode = operator ? (await grant(email)).setupToken! : '';
  return { email, id, setupCode, agent: new UserAgent(admin) };
}

/** Where a form's redirect took the agent, and the message the page there showed. */
async function landing(agent: UserAgent, redirect: AgentResponse) {
  const page = await agent.follow(redirect);
  return { path: page.path, ...page.messages };
}

const secretOf = (html: string) => /data-testid="totp-secret">([A-Z2-7]+)</.exec(html)?.[1];

/** An operator through the first sign-in: password, then setting up TOTP. */
async function operatorWithTotp() {
  const op = await user(true);
  const signIn = await op.agent.form('/admin/sign-in', { email: op.email, password: PASSWORD });
  expect(signIn.headers.get('location')).toBe('/admin/two-factor/setup');
  const setup = await op.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode: op.setupCode });
  expect(setup.status).toBe(200);
  const secret = secretOf(setup.text)!;
  expect(secret).toBeTruthy();
  const backupCodes = /data-testid="backup-codes">([^<]+)</.exec(setup.text)![1]!.split('\n');
  const confirm = await op.agent.form('/admin/two-factor/confirm', { code: totp(secret) });
  expect(await landing(op.agent, confirm)).toEqual({ path: '/admin', notice: 'Two-factor sign-in is on.' });
  return { ...op, secret, backupCodes };
}

async function platformRows() {
  return env.db.admin.sql<{ seq: string; action: string; actor_type: string; actor_id: string | null; organization_id: string | null; target_id: string | null; reason: string | null }[]>`
    select seq, action, actor_type, actor_id, organization_id, target_id, reason from platform_audit_log order by seq`;
}

async function orgAuditRows(tenant: TestTenant, action: string) {
  const response = await fetch(`${env.server.url}/v1/audit-log?action=${action}`, { headers: tenant.headers });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { actor_type: string; actor_id: string; data: Record<string, unknown> }[] }).data;
}

describe('the admin function runs apart from the public app', () => {
  it('refuses to start on any connection but the admin role', async () => {
    await expect(startAdminServer(env.db, env.db.appUrl)).rejects.toThrow(BootCheckError);
    await expect(startAdminServer(env.db, env.db.appUrl)).rejects.toThrow(/admin console connected as role "kommit_app", expected "beheerder"/);
    await expect(startAdminServer(env.db, env.db.authUrl)).rejects.toThrow(/"kommit_auth", expected "beheerder"/);
  });

  it('a public process refuses to mount it', () => {
    expect(() => selectFunctions('admin')).toThrow(/never mounted in a public process/);
    expect(() => selectFunctions('projects,admin')).toThrow(/never mounted in a public process/);
  });

  it('its tables and functions are out of reach of the request and auth roles', async () => {
    for (const table of ['platform_operators', 'operator_sessions', 'two_factors', 'platform_audit_log']) {
      for (const role of ['kommit_app', 'kommit_auth']) {
        const [row] = await env.db.admin.sql<{ any: boolean }[]>`
          select has_table_privilege(${role}, ${table}, 'select') or has_table_privilege(${role}, ${table}, 'insert')
              or has_table_privilege(${role}, ${table}, 'update') or has_table_privilege(${role}, ${table}, 'delete') as any`;
        expect(row!.any, `${role} on ${table}`).toBe(false);
      }
    }
    for (const fn of ['kommit_admin_organizations()', 'kommit_admin_usage(uuid[])', 'kommit_admin_webhook_failures(integer)']) {
      for (const role of ['kommit_app', 'kommit_auth']) {
        const [row] = await env.db.admin.sql<{ ok: boolean }[]>`select has_function_privilege(${role}, ${fn}, 'execute') as ok`;
        expect(row!.ok, `${role} executes ${fn}`).toBe(false);
      }
    }
    await expect(env.db.app.sql`select * from kommit_admin_organizations()`).rejects.toThrow(/permission denied/);
    await expect(env.db.app.sql`select * from platform_operators`).rejects.toThrow(/permission denied/);
    await expect(env.db.identity.sql`insert into platform_operators (user_id, granted_by) values (gen_random_uuid(), 'me')`).rejects.toThrow(/permission denied/);
  });

  it('counts every tenant table: the resolver may read org_id of each', async () => {
    const missing = await env.db.admin.sql<{ relname: string }[]>`
      select c.relname from pg_class c
      join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'org_id' and not a.attisdropped
      where c.relkind in ('r', 'p') and not has_column_privilege('kommit_resolver', c.oid, a.attnum, 'select')`;
    expect(missing.map((m) => m.relname)).toEqual([]);
  });
});

describe('signing in takes a platform operator and a second factor', () => {
  it('refuses a user who is not an operator, without a session', async () => {
    const someone = await user(false);
    const response = await someone.agent.form('/admin/sign-in', { email: someone.email, password: PASSWORD });
    expect(await landing(someone.agent, response)).toEqual({ path: '/admin/sign-in', error: expect.stringMatching(/^This account is not a platform operator/) });
    const sessions = await env.db.admin.sql`select 1 from operator_sessions where user_id = ${someone.id}`;
    expect(sessions).toHaveLength(0);
    expect((await someone.agent.request('GET', '/admin')).headers.get('location')).toBe('/admin/sign-in');
  });

  it('a wrong password gets nowhere', async () => {
    const op = await user(true);
    const response = await op.agent.form('/admin/sign-in', { email: op.email, password: 'not the password' });
    expect(await landing(op.agent, response)).toEqual({ path: '/admin/sign-in', error: expect.stringMatching(/invalid/i) });
  });

  it('an operator without a second factor can only set one up', async () => {
    const op = await user(true);
    await op.agent.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    for (const path of ['/admin', '/admin/jobs', '/admin/audit', `/admin/organizations/${acme.orgId}`]) {
      expect((await op.agent.request('GET', path)).headers.get('location'), path).toBe('/admin/two-factor/setup');
    }
    const read = await op.agent.form(`/admin/organizations/${acme.orgId}/read`, { kind: 'transcript', id: acme.orgId, reason: 'just looking around here' });
    expect(read.headers.get('location')).toBe('/admin/two-factor/setup');
    // Without the set-up code from the grant, or with a wrong one, no authenticator is bound.
    for (const setupCode of ['', 'not-the-code']) {
      const refused = await op.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode });
      expect(await landing(op.agent, refused)).toEqual({ path: '/admin/two-factor/setup', error: expect.stringMatching(/^That set-up code is wrong/) });
    }
    expect(await env.db.admin.sql`select 1 from two_factors where user_id = ${op.id}`).toHaveLength(0);
    // A wrong TOTP code does not turn TOTP on.
    const setup = await op.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode: op.setupCode });
    const wrong = await op.agent.form('/admin/two-factor/confirm', { code: totp(secretOf(setup.text)!, Date.now() - 3600_000) });
    expect(await landing(op.agent, wrong)).toEqual({ path: '/admin/two-factor/setup', error: expect.any(String) });
    expect((await op.agent.request('GET', '/admin')).headers.get('location')).toBe('/admin/two-factor/setup');
  });

  it('with TOTP set up, a password alone opens nothing; the code does', async () => {
    const op = await operatorWithTotp();
    expect((await op.agent.request('GET', '/admin')).status).toBe(200);

    const again = new UserAgent(admin);
    const signIn = await again.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    expect(signIn.headers.get('location')).toBe('/admin/two-factor');
    expect((await again.request('GET', '/admin')).headers.get('location')).toBe('/admin/sign-in');
    const wrong = await again.form('/admin/two-factor', { code: '000000' === totp(op.secret) ? '111111' : '000000' });
    expect(await landing(again, wrong)).toEqual({ path: '/admin/two-factor', error: expect.any(String) });
    const right = await again.form('/admin/two-factor', { code: totp(op.secret) });
    expect(right.headers.get('location')).toBe('/admin');
    expect((await again.request('GET', '/admin')).status).toBe(200);
    await again.form('/admin/sign-out');
    const signIns = (await platformRows()).filter((r) => r.actor_id === op.id && r.action.startsWith('operator.sign_'));
    expect(signIns.map((r) => r.action)).toEqual(['operator.sign_in', 'operator.sign_in', 'operator.sign_out']);
  });

  it('limits password guessing per account', async () => {
    const op = await user(true);
    for (let i = 0; i < 10; i++) await op.agent.form('/admin/sign-in', { email: op.email, password: `wrong ${i}` });
    const limited = await op.agent.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    expect(await landing(op.agent, limited)).toEqual({ path: '/admin/sign-in', error: expect.stringMatching(/Too many sign-in attempts for this account/) });
    expect(await env.db.admin.sql`select 1 from operator_sessions where user_id = ${op.id}`).toHaveLength(0);
  });

  it('a backup code stands in for the authenticator once', async () => {
    const op = await operatorWithTotp();
    const [code] = op.backupCodes;
    const first = new UserAgent(admin);
    await first.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    expect((await first.form('/admin/two-factor/backup', { code: code! })).headers.get('location')).toBe('/admin');
    expect((await first.request('GET', '/admin')).status).toBe(200);
    const second = new UserAgent(admin);
    await second.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    expect(await landing(second, await second.form('/admin/two-factor/backup', { code: code! }))).toEqual({ path: '/admin/two-factor', error: expect.any(String) });
    expect((await second.request('GET', '/admin')).headers.get('location')).toBe('/admin/sign-in');
  });

  it('a session from before TOTP was set up is refused once it is on', async () => {
    const op = await user(true);
    const early = new UserAgent(admin);
    await early.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    // Set up on another device; the early session never saw a second factor.
    await op.agent.form('/admin/sign-in', { email: op.email, password: PASSWORD });
    const setup = await op.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode: op.setupCode });
    await op.agent.form('/admin/two-factor/confirm', { code: totp(secretOf(setup.text)!) });
    expect((await op.agent.request('GET', '/admin')).status).toBe(200);
    const refused = await early.request('GET', '/admin');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('not confirmed with a second factor');
    // Nor can it turn itself into a signed-in one by checking codes: that is no sign-in.
    const before = (await platformRows()).length;
    const code = await early.form('/admin/two-factor', { code: '123456' });
    expect(code.headers.get('location')).toBe('/admin');
    expect((await early.request('GET', '/admin')).status).toBe(403);
    expect((await platformRows()).length).toBe(before);
  });

  it('a set-up code is good for one enrolment, and the grant can issue a new one', async () => {
    const op = await operatorWithTotp();
    expect(await env.db.admin.sql`select 1 from platform_operators where user_id = ${op.id} and setup_token_hash is null`).toHaveLength(1);
    // TOTP is on: granting again issues no code.
    expect((await grant(op.email)).setupToken).toBeNull();
    const fresh = await user(true);
    const again = await grant(fresh.email);
    expect(again.setupToken).not.toBe(fresh.setupCode);
    await fresh.agent.form('/admin/sign-in', { email: fresh.email, password: PASSWORD });
    const stale = await fresh.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode: fresh.setupCode });
    expect(await landing(fresh.agent, stale)).toEqual({ path: '/admin/two-factor/setup', error: expect.stringMatching(/^That set-up code/) });
    await env.db.admin.sql`update platform_operators set setup_token_expires_at = now() - interval '1 second' where user_id = ${fresh.id}`;
    const expired = await fresh.agent.form('/admin/two-factor/setup', { password: PASSWORD, setupCode: again.setupToken! });
    expect(await landing(fresh.agent, expired)).toEqual({ path: '/admin/two-factor/setup', error: expect.stringMatching(/^That set-up code/) });
  });

  it('a public session cookie is worth nothing here, and an operator session nothing there', async () => {
    const op = await operatorWithTotp();
    const publicAgent = new UserAgent(env.server);
    await publicAgent.signIn(op.email);
    const borrowed = new UserAgent(admin);
    borrowed.setCookieHeader(publicAgent.cookieHeader());
    expect((await borrowed.request('GET', '/admin')).headers.get('location')).toBe('/admin/sign-in');
    // Under the admin console's cookie name, the public token is still nothing here.
    const renamed = new UserAgent(admin);
    renamed.setCookieHeader(publicAgent.cookieHeader().replace(/^[^=]*session_token=/, 'kommit-admin.session_token='));
    expect(renamed.cookieHeader()).toMatch(/^kommit-admin\.session_token=/);
    expect((await renamed.request('GET', '/admin')).headers.get('location')).toBe('/admin/sign-in');
    const reverse = new UserAgent(env.server);
    reverse.setCookieHeader(op.agent.cookieHeader());
    expect((await reverse.request('GET', '/api/auth/get-session')).body).toBeNull();
  });

  it('an operator account cannot be deleted in the public app until the rights are revoked', async () => {
    const op = await user(true);
    const publicAgent = new UserAgent(env.server);
    await publicAgent.signIn(op.email);
    const refused = await publicAgent.request('POST', '/api/auth/delete-user', { password: PASSWORD });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/platform operator rights: they are revoked first/);
    await grant(op.email, false);
    expect((await publicAgent.request('POST', '/api/auth/delete-user', { password: PASSWORD })).status).toBe(200);
    expect((await platformRows()).filter((r) => r.target_id === op.id).map((r) => r.action)).toEqual(['operator.grant', 'operator.revoke']);
  });

  it('revoking an operator locks them out on their next request', async () => {
    const op = await operatorWithTotp();
    await grant(op.email, false);
    const refused = await op.agent.request('GET', '/admin');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('not a platform operator');
    const actions = (await platformRows()).filter((r) => r.target_id === op.id).map((r) => `${r.actor_type}:${r.actor_id}:${r.action}`);
    expect(actions).toEqual(['system:admin:grant by test:operator.grant', 'system:admin:grant by test:operator.revoke']);
  });

  it('forms must come from the admin console itself', async () => {
    const op = await operatorWithTotp();
    const response = await fetch(`${admin.url}/admin/organizations/${acme.orgId}/verify`, {
      method: 'POST',
      headers: { cookie: op.agent.cookieHeader(), origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(response.status).toBe(403);
    const noOrigin = await fetch(`${admin.url}/admin/organizations/${acme.orgId}/verify`, {
      method: 'POST',
      headers: { cookie: op.agent.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(noOrigin.status).toBe(403);
  });
});

const flashCookies = (response: { headers: Headers }) => response.headers.getSetCookie().filter((cookie) => cookie.startsWith('kommit-admin-flash='));

// As in the organization console: a page's message is one our server left in
// a one-time cookie, never text from the address.
describe('admin page messages', () => {
  it('never show text from the address, however the browser says it got there', async () => {
    const spoof = 'Your operator account is locked. Call +1-555-0100 to unlock it.';
    for (const kind of ['error', 'notice']) {
      for (const site of ['none', undefined, 'same-origin', 'cross-site']) {
        const page = await fetch(`${admin.url}/admin/sign-in?${kind}=${encodeURIComponent(spoof)}`, { headers: site ? { 'sec-fetch-site': site } : {} });
        expect(page.status).toBe(200);
        expect(await page.text(), `?${kind}= with Sec-Fetch-Site ${site}`).not.toContain('unlock it');
      }
    }
  });

  it('come in a one-time cookie after a real action: none in the address, shown once, then cleared', async () => {
    const op = await operatorWithTotp();
    const signedOut = await op.agent.form('/admin/sign-out');
    expect(signedOut.headers.get('location')).toBe('/admin/sign-in');
    expect(flashCookies(signedOut)).toEqual([expect.stringMatching(/^kommit-admin-flash=[A-Za-z0-9_-]+; Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/)]);
    const page = await op.agent.follow(signedOut);
    expect(page).toMatchObject({ status: 200, path: '/admin/sign-in', messages: { notice: 'Signed out.' } });
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(flashCookies(page)).toEqual([expect.stringMatching(/^kommit-admin-flash=; Max-Age=0; Path=\/; .*HttpOnly; SameSite=Lax$/)]);
    expect(shownMessages((await op.agent.request('GET', '/admin/sign-in')).text)).toEqual({});

    const refused = await op.agent.form('/admin/sign-in', { email: op.email, password: 'not the password' });
    expect(refused.headers.get('location')).toBe('/admin/sign-in');
    expect((await op.agent.follow(refused)).messages).toEqual({ error: expect.stringMatching(/invalid/i) });
    expect(shownMessages((await op.agent.request('GET', '/admin/sign-in')).text)).toEqual({});
  });

  it('ignore and clear a cookie that is not one of ours, with a page all the same', async () => {
    for (const value of ['garbage', Buffer.from('{"error":').toString('base64url'), 'A'.repeat(5000)]) {
      const page = await fetch(`${admin.url}/admin/sign-in`, { headers: { cookie: `kommit-admin-flash=${value}` } });
      expect(page.status, value.slice(0, 40)).toBe(200);
      expect(shownMessages(await page.text()), value.slice(0, 40)).toEqual({});
      expect(flashCookies(page), value.slice(0, 40)).toEqual([expect.stringMatching(/^kommit-admin-flash=; Max-Age=0;/)]);
    }
  });
});

describe('what operators see and do, and the record of it', () => {
  let op: Awaited<ReturnType<typeof operatorWithTotp>>;
  let eventId: string;
  let transcriptId: string;
  beforeAll(async () => {
    op = await operatorWithTotp();
    const project = await fetch(`${env.server.url}/v1/projects`, { method: 'POST', headers: acme.headers, body: JSON.stringify({ name: 'Pricing' }) });
    const projectId = ((await project.json()) as { id: string }).id;
    const event = await fetch(`${env.server.url}/v1/decision-events`, {
      method: 'POST',
      headers: acme.headers,
      body: JSON.stringify({ projectId, kind: 'decision', title: 'Confidential price list', rationale: 'Margins are secret' }),
    });
    expect(event.status).toBe(201);
    eventId = ((await event.json()) as { id: string }).id;
    const transcript = await fetch(`${env.server.url}/v1/support-transcripts`, {
      method: 'POST',
      headers: acme.headers,
      body: JSON.stringify({ channel: 'widget', messages: [{ role: 'visitor', content: 'My account number is 12345' }] }),
    });
    expect(transcript.status).toBe(201);
    transcriptId = ((await transcript.json()) as { id: string }).id;
  });

  it('lists organizations with member counts and rows, metadata only', async () => {
    const page = await op.agent.request('GET', '/admin');
    expect(page.status).toBe(200);
    const row = new RegExp(`data-org="${acme.orgId}">.*?data-testid="members">(\\d+)<.*?data-testid="rows">(\\d+)<`, 's').exec(page.text);
    expect(row?.[1]).toBe('1');
    expect(Number(row?.[2])).toBeGreaterThan(3);
    expect(page.text).toContain(globex.orgId);
    expect(page.text).not.toContain('Confidential price list');
  });

  it('shows one organization: rows per table, content by id only, recorded in both chains', async () => {
    const page = await op.agent.request('GET', `/admin/organizations/${acme.orgId}`);
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/data-table="decision_events"><td>decision_events<\/td><td class="num">1</);
    expect(page.text).toMatch(/data-table="projects"><td>projects<\/td><td class="num">1</);
    expect(page.text).toContain(eventId);
    expect(page.text).not.toContain('Confidential price list');
    expect(page.text).not.toContain('12345');
    const views = await orgAuditRows(acme, 'operator.organization_view');
    expect(views.at(-1)).toMatchObject({ actor_type: 'operator', actor_id: op.id });
    expect((await orgAuditRows(globex, 'operator.organization_view'))).toHaveLength(0);
    expect((await op.agent.request('GET', '/admin/organizations/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await op.agent.request('GET', '/admin/organizations/not-a-uuid')).status).toBe(404);
    const nobody = '00000000-0000-4000-8000-000000000000';
    expect((await op.agent.form(`/admin/organizations/${nobody}/verify`)).status).toBe(404);
    expect((await op.agent.form(`/admin/organizations/${nobody}/read`, { kind: 'transcript', id: nobody, reason: 'looking for nothing at all' })).status).toBe(404);
    expect((await op.agent.form(`/admin/webhooks/${nobody}/${nobody}/retry`)).status).toBe(404);
  });

  it('reads content only with a reason, recorded with it in both chains', async () => {
    const before = (await platformRows()).length;
    const noReason = await op.agent.form(`/admin/organizations/${acme.orgId}/read`, { kind: 'decision_event', id: eventId, reason: 'because' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).not.toContain('Confidential price list');
    expect((await platformRows()).length).toBe(before);
    // A reason Postgres cannot store (a NUL) is bad input: a 400 page, nothing read, nothing recorded.
    const nulReason = await op.agent.form(`/admin/organizations/${acme.orgId}/read`, { kind: 'decision_event', id: eventId, reason: 'Ticket 4711: a NUL \u0000 in here' });
    expect(nulReason.status).toBe(400);
    expect(nulReason.text).not.toContain('Confidential price list');
    expect(nulReason.text).not.toContain('Something went wrong');
    expect((await platformRows()).length).toBe(before);

    const reason = 'Ticket 4711: customer asked us to check this decision';
    const read = await op.agent.form(`/admin/organizations/${acme.orgId}/read`, { kind: 'decision_event', id: eventId, reason });
    expect(read.status).toBe(200);
    expect(read.text).toContain('Confidential price list');
    const transcript = await op.agent.form(`/admin/organizations/${acme.orgId}/read`, { kind: 'transcript', id: transcriptId, reason });
    expect(transcript.text).toContain('My account number is 12345');

    const platform = (await platformRows()).filter((r) => r.action === 'operator.content_read');
    expect(platform.map((r) => [r.organization_id, r.target_id, r.reason, r.actor_id])).toEqual([
      [acme.orgId, eventId, reason, op.id],
      [acme.orgId, transcriptId, reason, op.id],
    ]);
    const customerSees = await orgAuditRows(acme, 'operator.content_read');
    expect(customerSees.map((r) => [r.actor_type, r.data.reason, r.data.operator])).toEqual([
      ['operator', reason, op.email],
      ['operator', reason, op.email],
    ]);
    // Another organization's content is not found through this one.
    const across = await op.agent.form(`/admin/organizations/${globex.orgId}/read`, { kind: 'decision_event', id: eventId, reason });
    expect(across.status).toBe(404);
    expect(across.text).not.toContain('Confidential price list');
  });

  it('verifies an organization chain on demand and sees a broken one', async () => {
    const ok = await op.agent.form(`/admin/organizations/${acme.orgId}/verify`);
    expect(ok.text).toMatch(/data-testid="chain-status">Verified: \d+ rows/);
    await env.db.admin.withTenant(globex.orgId, async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_append_only`);
      await tx.execute(sql`update audit_log set action = 'forged' where seq = 1`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_append_only`);
    });
    const broken = await op.agent.form(`/admin/organizations/${globex.orgId}/verify`);
    expect(broken.text).toMatch(/data-testid="chain-status">Broken at seq 1: altered/);
    // The Audit chains page shows each organization's last verification.
    const page = (await op.agent.request('GET', '/admin/audit')).text;
    const stateOf = (orgId: string) => new RegExp(`data-org="${orgId}">.*?data-testid="chain-state">([^<]*)<`, 's').exec(page)?.[1];
    expect(stateOf(acme.orgId)).toMatch(/^verified \(\d+ rows\) at /);
    expect(stateOf(globex.orgId)).toMatch(/^broken at seq 1: altered/);
    expect((await orgAuditRows(acme, 'operator.audit_verify')).length).toBeGreaterThan(0);
  });

  it('shows the job queue and retries a dead job, in the job organization chain too', async () => {
    await env.db.admin.sql`select graphile_worker.add_job('search.index', json_build_object('orgId', ${acme.orgId}::text), max_attempts => 3)`;
    const [job] = await env.db.admin.sql<{ id: string }[]>`
      update graphile_worker._private_jobs set attempts = 3, last_error = 'simulated failure'
      where id = (select max(id) from graphile_worker._private_jobs) returning id::text`;
    const dead = await op.agent.request('GET', '/admin/jobs?state=dead');
    expect(dead.text).toContain(`data-job="${job!.id}" data-state="dead"`);
    expect(dead.text).toContain('simulated failure');
    expect((await op.agent.request('GET', '/admin/jobs?state=bogus')).status).toBe(404);

    const retried = await op.agent.form(`/admin/jobs/${job!.id}/retry`);
    expect(await landing(op.agent, retried)).toEqual({ path: '/admin/jobs', notice: `Job ${job!.id} will run again now.` });
    const [after] = await env.db.admin.sql<{ attempts: number }[]>`select attempts from graphile_worker._private_jobs where id = ${job!.id}`;
    expect(after!.attempts).toBe(0);
    expect((await orgAuditRows(acme, 'operator.job_retry')).at(-1)).toMatchObject({ actor_id: op.id });
    for (const id of ['999999999', '99999999999999999999999']) {
      expect(await landing(op.agent, await op.agent.form(`/admin/jobs/${id}/retry`)), id).toEqual({ path: '/admin/jobs', error: 'That job is gone or running.' });
    }
    await env.db.admin.sql`delete from graphile_worker._private_jobs where id = ${job!.id}`;
  });

  it('tells pending, running, failed and dead jobs apart, and retries only failed and dead ones', async () => {
    const add = async (key: string, set: string) => {
      await env.db.admin.sql`select graphile_worker.add_job('search.index', json_build_object('orgId', ${acme.orgId}::text), job_key => ${key}, max_attempts => 3)`;
      const [job] = await env.db.admin.sql<{ id: string }[]>`select id::text from graphile_worker._private_jobs where key = ${key}`;
      if (set) await env.db.admin.sql.unsafe(`update graphile_worker._private_jobs set ${set} where id = ${job!.id}`);
      return job!.id;
    };
    const jobs = {
      pending: await add('state-pending', ''),
      running: await add('state-running', "locked_at = now(), locked_by = 'worker-alive'"),
      failed: await add('state-failed', "attempts = 1, last_error = 'once'"),
      dead: await add('state-dead', "attempts = 3, last_error = 'thrice'"),
      // Locked five hours ago by a worker that is gone: free to run again.
      stale: await add('state-stale', "locked_at = now() - interval '5 hours', locked_by = 'worker-gone', attempts = 1"),
    };
    const page = (await op.agent.request('GET', '/admin/jobs')).text;
    const stateOf = (id: string) => new RegExp(`data-job="${id}" data-state="(\\w+)"`).exec(page)?.[1];
    expect(Object.fromEntries(Object.entries(jobs).map(([name, id]) => [name, stateOf(id)]))).toEqual({
      pending: 'pending',
      running: 'running',
      failed: 'failed',
      dead: 'dead',
      stale: 'failed',
    });
    for (const id of [jobs.pending, jobs.running]) {
      expect(await landing(op.agent, await op.agent.form(`/admin/jobs/${id}/retry`)), id).toEqual({ path: '/admin/jobs', error: 'That job is gone or running.' });
    }
    for (const id of [jobs.failed, jobs.stale]) {
      expect(await landing(op.agent, await op.agent.form(`/admin/jobs/${id}/retry`)), id).toEqual({ path: '/admin/jobs', notice: `Job ${id} will run again now.` });
    }
    const [stale] = await env.db.admin.sql<{ attempts: number; locked_at: string | null }[]>`select attempts, locked_at from graphile_worker._private_jobs where id = ${jobs.stale}`;
    expect(stale).toMatchObject({ attempts: 0 });
    await env.db.admin.sql`delete from graphile_worker._private_jobs where key like 'state-%'`;
  });

  it('lists webhook delivery failures across organizations without bodies, and retries one', async () => {
    const project = await acme.owner.request('POST', '/v1/projects', { name: 'Hooks' });
    const endpoint = await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'CRM', projectId: project.body.id, target: 'raw_event' });
    expect(endpoint.status).toBe(201);
    const [delivery] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ id: string }>(sql`
        insert into webhook_deliveries (org_id, endpoint_id, message_id, sent_at, body, status, attempts, last_error)
        values (${acme.orgId}, ${endpoint.body.id}, 'msg_1', now(), '{"card":"4111 1111"}', 'dead', 8, 'relation went away')
        returning id`),
    );
    const page = await op.agent.request('GET', '/admin/webhooks');
    expect(page.text).toContain(`data-delivery="${delivery!.id}" data-status="dead"`);
    expect(page.text).toContain('relation went away');
    expect(page.text).not.toContain('4111');
    const retried = await op.agent.form(`/admin/webhooks/${acme.orgId}/${delivery!.id}/retry`);
    expect(await landing(op.agent, retried)).toEqual({ path: '/admin/webhooks', notice: 'The delivery goes back to the relay.' });
    const [row] = await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ status: string; attempts: number }>(sql`select status, attempts from webhook_deliveries where id = ${delivery!.id}`));
    expect(row).toMatchObject({ status: 'received', attempts: 0 });
    expect((await orgAuditRows(acme, 'operator.webhook_retry'))).toHaveLength(1);
    // Through the wrong organization, nothing happens.
    const elsewhere = await op.agent.form(`/admin/webhooks/${globex.orgId}/${delivery!.id}/retry`);
    expect(await landing(op.agent, elsewhere)).toEqual({ path: '/admin/webhooks', error: 'That delivery is not dead (any more).' });
  });

  it('keeps working for an organization being deleted: records in the platform chain only, refuses what no longer makes sense', async () => {
    const doomed = await createTenant(env.db, env.server, 'Doomed');
    const projectId = (await doomed.owner.request('POST', '/v1/projects', { name: 'Last orders' })).body.id;
    const event = await doomed.owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Wind everything down' });
    const endpoint = await doomed.owner.request('POST', '/v1/webhook-endpoints', { name: 'CRM', projectId, target: 'raw_event' });
    const [delivery] = await env.db.admin.withTenant(doomed.orgId, (tx) =>
      tx.execute<{ id: string }>(sql`
        insert into webhook_deliveries (org_id, endpoint_id, message_id, sent_at, body, status, attempts, last_error)
        values (${doomed.orgId}, ${endpoint.body.id}, 'msg_doomed', now(), '{}', 'dead', 8, 'gone away') returning id`),
    );
    const ownerId = (await doomed.owner.request('GET', '/v1/session')).body.user.id as string;
    await env.db.app.withTenant(doomed.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${ownerId})`));
    // The org.delete worker got through its first batches (the chain head is in them), then ran out of attempts.
    await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute(sql`delete from audit_chain_heads`));
    const [job] = await env.db.admin.sql<{ id: string }[]>`
      update graphile_worker._private_jobs set attempts = max_attempts, last_error = 'worker died'
      where key = ${`org.delete:${doomed.orgId}`} returning id::text`;
    expect(job).toBeDefined();
    const before = Number((await platformRows()).at(-1)!.seq);

    // The overview and the organization's page work, and say where they were recorded.
    expect((await op.agent.request('GET', '/admin')).text).toMatch(new RegExp(`data-org="${doomed.orgId}">.*?being deleted since`, 's'));
    const page = await op.agent.request('GET', `/admin/organizations/${doomed.orgId}`);
    expect(page.status, page.text).toBe(200);
    expect(page.text).toMatch(/data-testid="recorded-in">[^<]*audit chain only: this organization is being deleted/);
    expect(page.text).toContain(event.body.id);
    expect(page.text).not.toContain(`/admin/organizations/${doomed.orgId}/read`);
    expect(page.text).not.toContain(`/admin/organizations/${doomed.orgId}/verify`);
    const audit = (await op.agent.request('GET', '/admin/audit')).text;
    expect(audit).not.toContain(`/admin/organizations/${doomed.orgId}/verify`);

    // Reading content, verifying the chain and retrying its webhooks answer 410 with the reason, and change nothing.
    const reason = 'Ticket 4712: customer wants a last look at this';
    for (const [path, form] of [
      [`/admin/organizations/${doomed.orgId}/read`, { kind: 'decision_event', id: event.body.id, reason }],
      [`/admin/organizations/${doomed.orgId}/verify`, {}],
      [`/admin/webhooks/${doomed.orgId}/${delivery!.id}/retry`, {}],
    ] as const) {
      const refused = await op.agent.form(path, form);
      expect(refused.status, path).toBe(410);
      expect(refused.text, path).toContain('This organization is being deleted');
      expect(refused.text, path).not.toContain('Wind everything down');
    }
    const [stillDead] = await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute<{ status: string }>(sql`select status from webhook_deliveries where id = ${delivery!.id}`));
    expect(stillDead!.status).toBe('dead');

    // Its dead org.delete job can be restarted.
    const retried = await op.agent.form(`/admin/jobs/${job!.id}/retry`);
    expect(await landing(op.agent, retried)).toEqual({
      path: '/admin/jobs',
      notice: `Job ${job!.id} will run again now. Recorded in the platform's audit chain only: the organization is being deleted: its audit chain goes with it.`,
    });
    const [after] = await env.db.admin.sql<{ attempts: number }[]>`select attempts from graphile_worker._private_jobs where id = ${job!.id}`;
    expect(after!.attempts).toBe(0);

    // A job whose organization is gone altogether can be retried too.
    const gone = '5d1c0b9e-0000-4000-8000-0000000000bb';
    await env.db.admin.sql`select graphile_worker.add_job('org.delete', json_build_object('orgId', ${gone}::text), job_key => ${`org.delete:${gone}`}, max_attempts => 2)`;
    const [goneJob] = await env.db.admin.sql<{ id: string }[]>`
      update graphile_worker._private_jobs set attempts = 2, last_error = 'worker died' where key = ${`org.delete:${gone}`} returning id::text`;
    const goneRetried = await op.agent.form(`/admin/jobs/${goneJob!.id}/retry`);
    expect((await landing(op.agent, goneRetried)).notice).toMatch(/platform's audit chain only: the organization no longer exists/);

    const recorded = await env.db.admin.sql<{ action: string; organization_id: string; data: { notInOrganizationChain?: string } }[]>`
      select action, organization_id, data from platform_audit_log where seq > ${before} and organization_id in (${doomed.orgId}, ${gone}) order by seq`;
    expect(recorded.map((r) => [r.action, r.organization_id, r.data.notInOrganizationChain])).toEqual([
      ['operator.organization_view', doomed.orgId, 'the organization is being deleted: its audit chain goes with it'],
      ['operator.job_retry', doomed.orgId, 'the organization is being deleted: its audit chain goes with it'],
      ['operator.job_retry', gone, 'the organization no longer exists'],
    ]);
    await env.db.admin.sql`delete from graphile_worker._private_jobs where id in (${job!.id}, ${goneJob!.id})`;
  });

  it('shows the platform deletion records', async () => {
    const gone = '5d1c0b9e-0000-4000-8000-0000000000aa';
    await env.db.admin.sql`insert into organization_deletions (deleted_organization_id, requested_by, completed_at, rows_deleted) values (${gone}, ${op.id}, now(), 1234)`;
    const page = await op.agent.request('GET', '/admin/deletions');
    expect(page.text).toMatch(new RegExp(`data-org="${gone}">.*1234`, 's'));
  });

  it('anchors operator rows in the organization chain, and signs checkpoints of the platform chain', async () => {
    const [anchor] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ seq: string; hash: string }>(sql`select data->>'platformSeq' as seq, data->>'platformHash' as hash from audit_log where actor_type = 'operator' order by seq desc limit 1`),
    );
    const [platformRow] = await env.db.admin.sql<{ hash: string }[]>`select encode(hash, 'hex') as hash from platform_audit_log where seq = ${anchor!.seq}`;
    expect(anchor!.hash).toBe(platformRow!.hash);
    const checkpoints = await env.db.admin.sql<{ seq: string; note: string }[]>`select seq, note from platform_audit_checkpoints order by seq`;
    expect(checkpoints.length).toBeGreaterThan(1);
    expect(checkpoints[0]!.note).toMatch(/^kommit\/audit\/platform\n/);
    expect(checkpoints[0]!.note).toContain('— kommit-admin-test ');
  });

  it('records every page in the platform chain, which verifies and shows tampering', async () => {
    const views = (await platformRows()).filter((r) => r.action === 'operator.view' && r.actor_id === op.id).map((r) => r.target_id);
    expect(views).toEqual(expect.arrayContaining(['organizations', 'jobs (dead)', 'webhook failures', 'deletions']));
    const audit = await op.agent.request('GET', '/admin/audit?verify=platform');
    expect(audit.text).toMatch(/data-testid="platform-chain-status">Verified: \d+ rows/);
    expect(await env.db.admin.db.transaction((tx) => verifyPlatformChain(tx, { verifier: ADMIN_TEST_SIGNER }))).toMatchObject({ ok: true, firstBreak: null });

    await expect(env.db.admin.sql`update platform_audit_log set reason = 'nothing' where seq = 1`).rejects.toThrow(/append-only/);
    await expect(env.db.admin.sql`delete from platform_audit_log where seq = 1`).rejects.toThrow(/append-only/);
    await expect(env.db.admin.sql`truncate platform_audit_log`).rejects.toThrow(/append-only/);
    await env.db.admin.sql.begin(async (tx) => {
      await tx`alter table platform_audit_log disable trigger platform_audit_log_append_only`;
      await tx`update platform_audit_log set reason = 'routine check' where seq = 2`;
      await tx`alter table platform_audit_log enable trigger platform_audit_log_append_only`;
    });
    const broken = await op.agent.request('GET', '/admin/audit?verify=platform');
    expect(broken.text).toMatch(/data-testid="platform-chain-status">Broken at seq 2: altered/);
  });

  it('detects a cut-off tail of the platform chain against its signed checkpoint, and a forged checkpoint', async () => {
    const [{ last }] = (await env.db.admin.sql<{ last: string }[]>`select max(seq)::int8 as last from platform_audit_checkpoints`) as unknown as [{ last: string }];
    // Repair the row altered above, then cut the chain right after the checkpoint's predecessor.
    await env.db.admin.sql.begin(async (tx) => {
      await tx`alter table platform_audit_log disable trigger platform_audit_log_append_only`;
      await tx`update platform_audit_log set reason = null where seq = 2`;
      await tx`delete from platform_audit_log where seq >= ${Number(last) - 1}`;
      await tx`alter table platform_audit_log enable trigger platform_audit_log_append_only`;
    });
    const report = await env.db.admin.db.transaction((tx) => verifyPlatformChain(tx, { verifier: ADMIN_TEST_SIGNER }));
    expect(report.ok).toBe(false);
    expect(report.firstBreak).toMatchObject({ kind: 'missing', seq: Number(last) - 1 });
    expect(report.firstBreak!.detail).toMatch(/missing: a signed checkpoint covers seq/);

    await env.db.admin.sql.begin(async (tx) => {
      await tx`alter table platform_audit_checkpoints disable trigger platform_audit_checkpoints_append_only`;
      await tx`update platform_audit_checkpoints set note = replace(note, 'kommit/audit/platform', 'kommit/audit/elsewhere') where seq = ${last}`;
      await tx`alter table platform_audit_checkpoints enable trigger platform_audit_checkpoints_append_only`;
    });
    const forged = await env.db.admin.db.transaction((tx) => verifyPlatformChain(tx, { verifier: ADMIN_TEST_SIGNER }));
    expect(forged.firstBreak!.detail).toMatch(/does not verify/);
  });

  it('classifies a platform row deleted from the middle as missing', async () => {
    await op.agent.request('GET', '/admin/deletions');
    await env.db.admin.sql.begin(async (tx) => {
      await tx`alter table platform_audit_log disable trigger platform_audit_log_append_only`;
      await tx`delete from platform_audit_log where seq = 3`;
      await tx`alter table platform_audit_log enable trigger platform_audit_log_append_only`;
    });
    const report = await env.db.admin.db.transaction((tx) => verifyPlatformChain(tx));
    expect(report.firstBreak).toMatchObject({ kind: 'missing', seq: 3 });
  });
});
