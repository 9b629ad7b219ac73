import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { invitations, members } from '../../../db/schema/auth.ts';
import { auditLog } from '../../../db/schema/audit.ts';
import { someoneWaitsForALock, whileLocked } from '../../../test/races.ts';
import { postgresError } from '../../../test/expect.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

// A server of its own: these tests sign up many users, more than one test server's sign-up budget per address.
const env = useTestServer();

describe('the database keeps memberships sound whoever writes them', () => {
  /** An organization with two owners (the second joined through an invitation). */
  async function twoOwners() {
    const first = new UserAgent(env.server);
    const firstEmail = uniqueEmail('owner-a');
    const firstUser = await first.signUp(firstEmail);
    const org = await first.createOrganization('Two owners');
    const second = new UserAgent(env.server);
    const secondEmail = uniqueEmail('owner-b');
    const secondUser = await second.signUp(secondEmail);
    const invite = await first.request('POST', '/api/auth/organization/invite-member', { email: secondEmail, role: 'owner', organizationId: org.id });
    expect((await second.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
    const rows = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.organizationId, org.id)));
    const idOf = (userId: string) => rows.find((r) => r.userId === userId)!.id;
    const owners = async () => (await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.organizationId, org.id)))).filter((m) => m.role === 'owner').length;
    return { org, first, second, firstEmail, secondEmail, firstUser, secondUser, firstId: idOf(firstUser.id), secondId: idOf(secondUser.id), owners };
  }

  /** An organization, and a member's invitation to it for a signed-up address. */
  async function anInvitation(name: string) {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    const org = await owner.createOrganization(name);
    const invitee = new UserAgent(env.server);
    const email = uniqueEmail('invitee');
    await invitee.signUp(email);
    const invite = await owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: org.id });
    return { org, invitee, invite };
  }

  it('keeps an owner when two owners step down, or remove each other, at the same moment', async () => {
    for (let round = 0; round < 3; round++) {
      const { org, first, second, firstId, secondId, owners } = await twoOwners();
      const demotions = await Promise.all([
        first.request('POST', '/api/auth/organization/update-member-role', { memberId: firstId, role: 'member', organizationId: org.id }),
        second.request('POST', '/api/auth/organization/update-member-role', { memberId: secondId, role: 'member', organizationId: org.id }),
      ]);
      expect(await owners(), JSON.stringify(demotions.map((r) => r.body))).toBe(1);
      const refused = demotions.find((r) => r.status !== 200)!;
      expect([400, 409]).toContain(refused.status);
    }
    for (let round = 0; round < 3; round++) {
      const { org, first, second, firstEmail, secondEmail, owners } = await twoOwners();
      const removals = await Promise.all([
        first.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: secondEmail, organizationId: org.id }),
        second.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: firstEmail, organizationId: org.id }),
      ]);
      expect(await owners(), JSON.stringify(removals.map((r) => r.body))).toBe(1);
      const refused = removals.find((r) => r.status !== 200)!;
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect([403, 409]).toContain(refused.status);
    }
  });

  it('refuses, in the database, any change that leaves an organization without an owner, but not its deletion', async () => {
    const { org, owners } = await twoOwners();
    const refused = await env.db.admin.withTenant(org.id, (tx) => tx.delete(members).where(eq(members.organizationId, org.id))).catch((e: unknown) => e);
    expect(postgresError(refused)).toMatchObject({ code: '23514', constraint_name: 'members_keep_an_owner' });
    expect(await owners()).toBe(2);
    await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`update organizations set deletion_requested_at = now() where id = ${org.id}`));
    await env.db.admin.withTenant(org.id, (tx) => tx.delete(members).where(eq(members.organizationId, org.id)));
    expect(await owners()).toBe(0);
  });

  it('lets an invitation in only while whoever sent it may still invite to its role', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    const org = await owner.createOrganization('Invites');
    const admin = new UserAgent(env.server);
    const adminEmail = uniqueEmail('admin');
    await admin.signUp(adminEmail);
    const toAdmin = await owner.request('POST', '/api/auth/organization/invite-member', { email: adminEmail, role: 'admin', organizationId: org.id });
    expect((await admin.request('POST', '/api/auth/organization/accept-invitation', { invitationId: toAdmin.body.id })).status).toBe(200);
    expect((await admin.request('POST', '/v1/session/active-organization', { organizationId: org.id })).status).toBe(200);
    // The admin invites two more addresses of their own, as admin and as member...
    const invitee = async (role: string) => {
      const agent = new UserAgent(env.server);
      const email = uniqueEmail(`alt-${role}`);
      await agent.signUp(email);
      const sent = await admin.request('POST', '/api/auth/organization/invite-member', { email, role, organizationId: org.id });
      expect(sent.status).toBe(200);
      return { agent, accept: () => agent.request('POST', '/api/auth/organization/accept-invitation', { invitationId: sent.body.id }) };
    };
    const asAdmin = await invitee('admin');
    const asMember = await invitee('member');
    const [adminRow] = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.role, 'admin')));
    // ...and is demoted: the admin invitation now outranks its sender, the member one does not.
    expect((await owner.request('POST', '/api/auth/organization/update-member-role', { memberId: adminRow!.id, role: 'member', organizationId: org.id })).status).toBe(200);
    const outranked = await asAdmin.accept();
    expect(outranked.status).toBe(403);
    expect(outranked.body.detail).toMatch(/can no longer invite to the role admin/);
    // Then removed: nothing they sent lets anyone in any more.
    expect((await owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: adminEmail, organizationId: org.id })).status).toBe(200);
    expect((await asMember.accept()).status).toBe(403);
    expect((await asMember.agent.request('POST', '/v1/session/active-organization', { organizationId: org.id })).status).toBe(404);
    const left = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.organizationId, org.id)));
    expect(left).toHaveLength(1);
  });

  it('refuses an account deletion that would leave an organization ownerless before it takes the password or the sessions', async () => {
    const { org, first, second, firstEmail, firstUser, secondId, owners } = await twoOwners();
    // Hold the first owner's membership so the deletion stops between Better Auth's owner check and the removal of that membership.
    const refused = await whileLocked(env.db, { orgId: org.id, rows: (held) => held`select 1 from members where user_id = ${firstUser.id} for update` }, async (release) => {
      const deletion = first.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
      await someoneWaitsForALock(env.db);
      // Meanwhile the other owner steps down, which is allowed while the first still owns it.
      expect((await second.request('POST', '/api/auth/organization/update-member-role', { memberId: secondId, role: 'member', organizationId: org.id })).status).toBe(200);
      await release();
      return deletion;
    });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.detail).toMatch(/keeps at least one owner/);
    // Refused while the account was whole: it still signs in, and still owns the organization.
    expect(await owners()).toBe(1);
    expect((await new UserAgent(env.server).signIn(firstEmail)).status).toBe(200);
    expect((await first.request('GET', '/v1/projects')).status).toBe(200);
  });

  it('takes an account deletion through the sessions before any audit chain, so a switch of organization at the same moment cannot deadlock with it', async () => {
    const { org, second, secondUser } = await twoOwners();
    // A switch in flight: it has updated the user's session row and will next append to the organization's chain.
    const [head, deleted] = await whileLocked(env.db, { rows: (held) => held`select 1 from sessions where user_id = ${secondUser.id} for update` }, async (release) => {
      const deletion = second.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
      await someoneWaitsForALock(env.db);
      // The deletion waits for the session without holding the chain head, so the switch can go on.
      const head = await env.db.admin
        .withTenant(org.id, (tx) => tx.execute(sql`select 1 as ok from audit_chain_heads where org_id = ${org.id} for update nowait`))
        .then((rows) => [...rows], (e: unknown) => postgresError(e)?.code);
      await release();
      return [head, await deletion] as const;
    });
    expect(head).toEqual([{ ok: 1 }]);
    expect(deleted.status).toBe(200);
    const left = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.organizationId, org.id)));
    expect(left.map((m) => m.userId)).not.toContain(secondUser.id);
  });

  it('lets one of two acceptances of an invitation at the same moment in, and answers the other 409', async () => {
    const { org, invitee, invite } = await anInvitation('Twice');
    // Both acceptances read the invitation as pending before either changes it.
    const answers = await whileLocked(env.db, { orgId: org.id, rows: (held) => held`select 1 from invitations where id = ${invite.body.id} for update` }, async (release) => {
      const accepting = [0, 1].map(() => invitee.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id }));
      await someoneWaitsForALock(env.db, 2);
      await release();
      return Promise.all(accepting);
    });
    expect(answers.map((r) => r.status).sort(), JSON.stringify(answers.map((r) => r.body))).toEqual([200, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.detail).toMatch(/already been accepted/);
    const joined = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.organizationId, org.id)));
    expect(joined).toHaveLength(2);
    const added = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(sql`${auditLog.orgId} = ${org.id} and ${auditLog.action} = 'member.add'`));
    expect(added).toHaveLength(1);
  });

  it('lets an invitation be accepted while its sender deletes their account, without a deadlock: the acceptance finds it gone', async () => {
    const { org, second: sender, invite } = await (async () => {
      const o = await twoOwners();
      // The second owner sends an invitation, then deletes their account while it is being accepted.
      const invitee = new UserAgent(env.server);
      const email = uniqueEmail('invitee');
      await invitee.signUp(email);
      const sent = await o.second.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: o.org.id });
      expect(sent.status).toBe(200);
      return { ...o, invite: { invitee, id: sent.body.id as string } };
    })();
    // The deletion stops at the chain head, holding the sender's membership; the acceptance then asks for that membership.
    const answers = await whileLocked(env.db, { orgId: org.id, rows: (held) => held`select 1 from audit_chain_heads where org_id = ${org.id} for update` }, async (release) => {
      const deletion = sender.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
      await someoneWaitsForALock(env.db);
      const accepting = invite.invitee.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.id });
      await someoneWaitsForALock(env.db, 2);
      await release();
      return Promise.all([deletion, accepting]);
    });
    expect(answers.map((r) => r.status), JSON.stringify(answers.map((r) => r.body))).toEqual([200, 409]);
    expect(answers[1]!.body.detail).toMatch(/no longer exists/);
  });

  it('lets a member delete their account while an owner deletes the organization, without a deadlock', async () => {
    const { org, first: owner, second: member, secondUser } = await twoOwners();
    const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations where id = ${org.id}`));
    const slug = row!.slug;
    // Both stop at the member's row: the organization's deletion first (it then clears the members' sessions), then the account's.
    const answers = await whileLocked(env.db, { orgId: org.id, rows: (held) => held`select 1 from members where user_id = ${secondUser.id} for share` }, async (release) => {
      const organizationDeletion = owner.request('DELETE', `/v1/organizations/${org.id}`, { confirm: slug, password: 'correct horse battery' });
      await someoneWaitsForALock(env.db);
      const accountDeletion = member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
      await someoneWaitsForALock(env.db, 2);
      await release();
      return Promise.all([organizationDeletion, accountDeletion]);
    });
    expect(answers.map((r) => r.status), JSON.stringify(answers.map((r) => r.body))).toEqual([202, 200]);
  });

  it('lets an address whose invitation expired be invited again, the expired one canceled on the record', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    const org = await owner.createOrganization('Expiry');
    const email = uniqueEmail('invitee');
    const first = await owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: org.id });
    expect(first.status).toBe(200);
    await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`update invitations set expires_at = now() - interval '1 day' where id = ${first.body.id}`));
    // Better Auth no longer sees the expired one; the one-pending index still did (a 409 nobody could act on).
    const again = await owner.request('POST', '/api/auth/organization/invite-member', { email: email.toUpperCase(), role: 'member', organizationId: org.id });
    expect(again.status, again.text).toBe(200);
    const rows = await env.db.admin.withTenant(org.id, (tx) => tx.execute<{ id: string; status: string }>(sql`select id, status from invitations where org_id = ${org.id} order by created_at`));
    expect(rows.map((r) => [r.id, r.status])).toEqual([[first.body.id, 'canceled'], [again.body.id, 'pending']]);
    const trail = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(eq(auditLog.action, 'invitation.cancel')));
    expect(trail.map((r) => [r.targetId, r.data])).toEqual([[first.body.id, expect.objectContaining({ reason: 'expired; replaced by a new invitation' })]]);
    // The same with resend, which Better Auth also sends down the path of a new invitation once the pending one expired.
    await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`update invitations set expires_at = now() - interval '1 day' where id = ${again.body.id}`));
    expect((await owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: org.id, resend: true })).status).toBe(200);
  });

  it('keeps one pending invitation per address, however many are sent at once', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    const org = await owner.createOrganization('Once');
    const email = uniqueEmail('invited');
    const sent = await Promise.all([0, 1, 2].map(() => owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: org.id })));
    expect(sent.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of sent.filter((r) => r.status !== 200)) expect([400, 409], JSON.stringify(r.body)).toContain(r.status);
    const pending = await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`select id from invitations where org_id = ${org.id} and status = 'pending'`));
    expect(pending).toHaveLength(1);
  });

  it('takes no member into, and lets no session enter, an organization being deleted', async () => {
    const { org, first: member } = await twoOwners();
    expect((await member.request('GET', '/v1/projects')).status).toBe(200);
    await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`update organizations set deletion_requested_at = now() where id = ${org.id}`));
    // A membership that slipped in as the deletion was requested opens nothing.
    expect((await member.request('GET', '/v1/projects')).status).toBe(403);
    const late = await env.db.identity.db.insert(members).values({ organizationId: org.id, userId: (await new UserAgent(env.server).signUp(uniqueEmail('late'))).id, role: 'member' }).catch((e: unknown) => e);
    expect(postgresError(late)).toMatchObject({ code: '55000', constraint_name: 'organization_being_deleted' });
  });

  it('refuses to accept an invitation into an organization being deleted with 409, and leaves the invitation pending', async () => {
    const { org, invitee, invite } = await anInvitation('Going away');
    await env.db.admin.withTenant(org.id, (tx) => tx.execute(sql`update organizations set deletion_requested_at = now() where id = ${org.id}`));
    const accepted = await invitee.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id });
    expect(accepted.status).toBe(409);
    expect(accepted.headers.get('content-type')).toBe('application/problem+json');
    expect(accepted.body.detail).toMatch(/being deleted/);
    const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.select({ status: invitations.status }).from(invitations).where(eq(invitations.id, invite.body.id)));
    expect(row).toEqual({ status: 'pending' });
  });
});

describe('organization slugs', () => {
  it('are at most 100 characters, on creation and on update, so an owner can always type one out to delete the organization', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('slugs'));
    const long = 'a'.repeat(101);
    const created = await owner.request('POST', '/api/auth/organization/create', { name: 'Long', slug: long });
    expect(created.status).toBe(400);
    expect(created.body.detail ?? created.body.message).toMatch(/at most 100 characters/);
    const org = await owner.createOrganization('Short');
    const updated = await owner.request('POST', '/api/auth/organization/update', { organizationId: org.id, data: { slug: long } });
    expect(updated.status).toBe(400);
    expect((await owner.request('POST', '/api/auth/organization/update', { organizationId: org.id, data: { slug: 'a'.repeat(100) } })).status).toBe(200);
  });

  it('change taking the audit chain head before the organization row, in the order every append takes them (no deadlock)', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('slug-order'));
    const org = await owner.createOrganization('Lock order');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const headLocked = new Promise<void>((resolve) => (locked = resolve));
    // An append in flight: it holds the chain head and will next key-share lock the organization row.
    const appending = env.db.admin.withTenant(org.id, async (tx) => {
      await tx.execute(sql`select 1 from audit_chain_heads where org_id = ${org.id} for update`);
      locked();
      await held;
    });
    await headLocked;
    const update = owner.request('POST', '/api/auth/organization/update', { organizationId: org.id, data: { slug: `renamed-${Date.now()}` } });
    await someoneWaitsForALock(env.db);
    // The slug change waits for the head without holding the organization row, so the append can go on.
    const keyShare = await env.db.admin
      .withTenant(org.id, (tx) => tx.execute(sql`select 1 as ok from organizations where id = ${org.id} for key share nowait`))
      .then((rows) => [...rows], (e: unknown) => e);
    release();
    await appending;
    expect(keyShare).toEqual([{ ok: 1 }]);
    expect((await update).status).toBe(200);
  });
});

describe('organization names', () => {
  it('are trimmed and 1 to 100 characters through Better Auth too, as in the console and the CLI', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('names'));
    // (Better Auth refuses the empty string itself; spaces and length were its gap.)
    for (const name of ['   ', '\t', 'n'.repeat(101)]) {
      const refused = await owner.request('POST', '/api/auth/organization/create', { name, slug: `blank-${Date.now()}-${name.length}` });
      expect(refused.status, JSON.stringify(name)).toBe(400);
      expect(refused.body.detail ?? refused.body.message).toMatch(/1 to 100 characters/);
    }
    const created = await owner.request('POST', '/api/auth/organization/create', { name: '  Spaced  ', slug: `spaced-${Date.now()}` });
    expect(created.status).toBe(200);
    expect(created.body.name).toBe('Spaced');
    expect((await owner.request('POST', '/api/auth/organization/update', { organizationId: created.body.id, data: { name: ' \t ' } })).status).toBe(400);
    const renamed = await owner.request('POST', '/api/auth/organization/update', { organizationId: created.body.id, data: { name: ' Renamed ' } });
    expect(renamed.body.name).toBe('Renamed');
  });
});

describe('Better Auth behind a session cookie', () => {
  it('takes no write from another site, and sends nobody to another site after one', async () => {
    const agent = new UserAgent(env.server);
    await agent.signUp(uniqueEmail('csrf'));
    const forged = await fetch(`${env.server.url}/api/auth/organization/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: agent.cookieHeader(), origin: 'https://evil.example' },
      body: JSON.stringify({ name: 'Forged', slug: `forged-${Date.now()}` }),
    });
    expect(forged.status).toBe(403);
    expect((await agent.request('GET', '/api/auth/organization/list')).body).toEqual([]);
    const away = await agent.request('POST', '/api/auth/sign-in/email', { email: uniqueEmail('nobody'), password: 'correct horse battery', callbackURL: 'https://evil.example/welcome' });
    expect(away.status).toBe(403);
  });
});

describe('Better Auth organization endpoints', () => {
  it('give a member the whole organization, with its members and pending invitations, and nobody else', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('full'));
    const org = await owner.createOrganization('Full');
    const invited = uniqueEmail('pending');
    expect((await owner.request('POST', '/api/auth/organization/invite-member', { email: invited, role: 'member', organizationId: org.id })).status).toBe(200);
    const full = await owner.request('GET', `/api/auth/organization/get-full-organization?organizationId=${org.id}`);
    expect(full.status, full.text).toBe(200);
    expect(full.body).toMatchObject({ id: org.id, members: [expect.objectContaining({ role: 'owner' })], invitations: [expect.objectContaining({ email: invited, status: 'pending' })] });
    const outsider = new UserAgent(env.server);
    await outsider.signUp(uniqueEmail('outsider'));
    // By id or by slug, an outsider gets Better Auth's refusal as a problem, nothing of the organization.
    for (const query of [`organizationId=${org.id}`, `organizationSlug=${org.slug}`]) {
      const refused = await outsider.request('GET', `/api/auth/organization/get-full-organization?${query}`);
      expect(refused.status, `${query}: ${refused.text}`).toBe(403);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body.code).toBe('USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION');
      expect(refused.text).not.toContain(invited);
      expect(refused.text).not.toContain(org.id);
    }
  });

  it('refuse a member-list filter operator the field cannot take with a 400, not a 500', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('filters'));
    const org = await owner.createOrganization('Filters');
    const list = (query: string) => owner.request('GET', `/api/auth/organization/list-members?organizationId=${org.id}&${query}`);
    for (const query of ['filterField=role&filterOperator=in&filterValue=admin', 'filterField=id&filterOperator=contains&filterValue=x', 'filterField=role&filterOperator=gt&filterValue=a']) {
      const response = await list(query);
      expect(response.status, `${query}: ${response.text}`).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    }
    // A filter without its one value, or on createdAt (its value reaches the timestamp column as text), failed as a 500 too.
    for (const [query, path] of [
      ['filterField=role', 'query.filterValue'],
      ['filterField=userId&filterOperator=ne', 'query.filterValue'],
      ['filterField=role&filterValue=owner&filterValue=admin', 'query.filterValue'],
      ['filterField=createdAt&filterOperator=ne&filterValue=2020-01-01T00:00:00Z', 'query.filterField'],
      ['filterField=createdAt&filterValue=2020-01-01T00:00:00Z', 'query.filterField'],
    ] as const) {
      const response = await list(query);
      expect(response.status, `${query}: ${response.text}`).toBe(400);
      expect(response.body.errors.map((e: { path: string }) => e.path), query).toEqual([path]);
    }
    const owners = await list('filterField=role&filterOperator=eq&filterValue=owner');
    expect(owners.status).toBe(200);
    expect(owners.body.members).toHaveLength(1);
    expect((await list('filterField=role&filterOperator=ne&filterValue=owner')).body.members).toHaveLength(0);
  });
});
