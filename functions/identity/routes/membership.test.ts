import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { connect } from '../../../db/connection.ts';
import { members, users } from '../../../db/schema/auth.ts';
import { auditLog } from '../../../db/schema/audit.ts';
import { projects } from '../../../db/schema/projects.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

const env = useTestServer();

/** An owner with an organization, and a second user who joined it through an invitation. */
async function orgWithMember(role: 'member' | 'admin' = 'member') {
  const owner = new UserAgent(env.server);
  await owner.signUp(uniqueEmail('owner'));
  const org = await owner.createOrganization('Team');
  const member = new UserAgent(env.server);
  const email = uniqueEmail('member');
  const user = await member.signUp(email);
  const invite = await owner.request('POST', '/api/auth/organization/invite-member', { email, role, organizationId: org.id });
  expect(invite.status).toBe(200);
  expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
  expect((await member.request('POST', '/v1/session/active-organization', { organizationId: org.id })).status).toBe(200);
  const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.userId, user.id)));
  return { owner, org, member, email, user, memberId: row!.id };
}

describe('removal takes effect on the next request of every session', () => {
  it('of three concurrent sessions of a removed member, none keeps access', async () => {
    const { owner, org, email } = await orgWithMember();
    const sessions = [new UserAgent(env.server), new UserAgent(env.server), new UserAgent(env.server)];
    for (const session of sessions) {
      expect((await session.signIn(email)).status).toBe(200);
      expect((await session.request('POST', '/v1/session/active-organization', { organizationId: org.id })).status).toBe(200);
      expect((await session.request('GET', '/v1/projects')).status).toBe(200);
    }
    expect((await owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: email, organizationId: org.id })).status).toBe(200);
    const after = await Promise.all(sessions.map((session) => session.request('GET', '/v1/projects')));
    expect(after.map((r) => r.status)).toEqual([403, 403, 403]);
    // The stale claim is gone from every one of those sessions, not just refused once.
    for (const session of sessions) expect((await session.request('GET', '/v1/session')).body.activeOrganizationId).toBeNull();
  });

  it('applies to a member who leaves', async () => {
    const { org, member } = await orgWithMember();
    expect((await member.request('POST', '/api/auth/organization/leave', { organizationId: org.id })).status).toBe(200);
    expect((await member.request('GET', '/v1/projects')).status).toBe(403);
  });

  it('records the pending invitations a deleted user had sent as canceled (they go with the user)', async () => {
    const { org, member } = await orgWithMember('admin');
    const invitee = uniqueEmail('invitee');
    const sent = await member.request('POST', '/api/auth/organization/invite-member', { email: invitee, role: 'member', organizationId: org.id });
    expect(sent.status).toBe(200);
    expect((await member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' })).status).toBe(200);
    const trail = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(eq(auditLog.action, 'invitation.cancel')));
    expect(trail.map((r) => [r.targetId, r.data])).toEqual([[sent.body.id, { email: invitee, reason: 'its sender deleted their account' }]]);
  });

  it('applies to a member whose user is deleted (the sessions go with the user)', async () => {
    const { org, member, user } = await orgWithMember();
    expect((await member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' })).status).toBe(200);
    expect((await member.request('GET', '/v1/projects')).status).toBe(401);
    expect(await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.userId, user.id)))).toEqual([]);
    const trail = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(eq(auditLog.action, 'member.remove')));
    expect(trail.map((r) => r.data)).toEqual([expect.objectContaining({ userId: user.id, reason: 'user deleted their account' })]);
  });
});

describe('roles', () => {
  it('take effect on the next request: a member cannot create API keys, an admin can, and back', async () => {
    const { owner, member, memberId, org } = await orgWithMember('member');
    expect((await member.request('POST', '/v1/api-keys', { name: 'm' })).status).toBe(403);
    const promote = await owner.request('POST', '/api/auth/organization/update-member-role', { memberId, role: 'admin', organizationId: org.id });
    expect(promote.status).toBe(200);
    expect((await member.request('POST', '/v1/api-keys', { name: 'm' })).status).toBe(201);
    await owner.request('POST', '/api/auth/organization/update-member-role', { memberId, role: 'member', organizationId: org.id });
    expect((await member.request('GET', '/v1/api-keys')).status).toBe(403);
  });

  it('let owners and admins invite and remove, but not plain members', async () => {
    const { member, org } = await orgWithMember('member');
    const invite = await member.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail('x'), role: 'member', organizationId: org.id });
    expect(invite.status).toBeGreaterThanOrEqual(400);
    expect(invite.status).toBeLessThan(500);
    expect(invite.headers.get('content-type')).toBe('application/problem+json');
  });

  it('do not delete organizations through Better Auth (DELETE /v1/organizations/{id} does, with confirmation)', async () => {
    const { owner, org, member } = await orgWithMember('admin');
    for (const agent of [member, owner]) {
      const response = await agent.request('POST', '/api/auth/organization/delete', { organizationId: org.id });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    expect((await member.request('GET', '/v1/projects')).status).toBe(200);
    expect((await owner.request('GET', '/v1/session')).body.organizations).toHaveLength(1);
  });

  it('are single: Better Auth refuses a list of roles when changing a role or inviting', async () => {
    const { owner, member, memberId, org } = await orgWithMember('member');
    for (const role of [['admin', 'member'], 'admin,member']) {
      const change = await owner.request('POST', '/api/auth/organization/update-member-role', { memberId, role, organizationId: org.id });
      expect(change.status, JSON.stringify(role)).toBe(400);
      expect(change.text).toMatch(/exactly one role/);
      const invite = await owner.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail('listed'), role, organizationId: org.id });
      expect(invite.status, JSON.stringify(role)).toBe(400);
    }
    const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.id, memberId)));
    expect(row!.role).toBe('member');
    expect((await member.request('GET', '/v1/api-keys')).status).toBe(403);
    const changes = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(eq(auditLog.action, 'member.role_change')));
    expect(changes).toEqual([]);
    // One role still changes as before.
    expect((await owner.request('POST', '/api/auth/organization/update-member-role', { memberId, role: ['admin'], organizationId: org.id })).status).toBe(200);
  });

  it('count a stored list naming owner as an owner: such a sole owner cannot delete their account', async () => {
    const owner = new UserAgent(env.server);
    const ownerUser = await owner.signUp(uniqueEmail('listed-owner'));
    const org = await owner.createOrganization('Listed');
    await env.db.admin.withTenant(org.id, (tx) => tx.update(members).set({ role: 'owner,member' }).where(eq(members.userId, ownerUser.id)));
    const deleteUser = await owner.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
    expect(deleteUser.status).toBe(400);
    expect(deleteUser.body.detail).toMatch(/only owner of Listed/);
  });

  it('never leave an organization without an owner', async () => {
    const owner = new UserAgent(env.server);
    const ownerEmail = uniqueEmail('sole');
    const ownerUser = await owner.signUp(ownerEmail);
    const org = await owner.createOrganization('Solo');
    const leave = await owner.request('POST', '/api/auth/organization/leave', { organizationId: org.id });
    expect(leave.status).toBe(400);
    expect(leave.body.code).toBe('YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER');
    const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.userId, ownerUser.id)));
    const demote = await owner.request('POST', '/api/auth/organization/update-member-role', { memberId: row!.id, role: 'member', organizationId: org.id });
    expect(demote.status).toBe(400);
    const deleteUser = await owner.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' });
    expect(deleteUser.status).toBe(400);
    expect(deleteUser.body.detail).toMatch(/only owner of Solo/);
    expect((await owner.request('GET', '/v1/projects')).status).toBe(200);
  });
});

describe('switching organizations', () => {
  it('rebinds the session after a membership check, and refuses organizations that are not yours like missing ones', async () => {
    const user = new UserAgent(env.server);
    await user.signUp(uniqueEmail('switcher'));
    const first = await user.createOrganization('First');
    const second = await user.createOrganization('Second');
    expect((await user.request('POST', '/v1/projects', { name: 'in second' })).status).toBe(201);
    expect((await user.request('POST', '/v1/session/active-organization', { organizationId: first.id })).status).toBe(200);
    expect((await user.request('GET', '/v1/projects')).body.data).toEqual([]);
    expect((await user.request('POST', '/v1/session/active-organization', { organizationId: second.id })).status).toBe(200);
    expect((await user.request('GET', '/v1/projects')).body.data.map((p: { name: string }) => p.name)).toEqual(['in second']);

    const outsider = new UserAgent(env.server);
    await outsider.signUp(uniqueEmail('outsider'));
    const notMine = await outsider.request('POST', '/v1/session/active-organization', { organizationId: second.id });
    const missing = await outsider.request('POST', '/v1/session/active-organization', { organizationId: crypto.randomUUID() });
    expect(notMine.status).toBe(404);
    expect({ ...notMine.body, instance: 0 }).toEqual({ ...missing.body, instance: 0 });
    expect((await outsider.request('POST', '/v1/session/active-organization', { organizationId: 'nope' })).status).toBe(400);
  });
});

describe('a removal racing a write', () => {
  it('cannot let the removed member write after the removal committed', async () => {
    const { org, member, user } = await orgWithMember();
    // Open the removal as the auth role would, and hold it uncommitted.
    const auth = connect(env.db.authUrl, { ca: env.db.ca, max: 1 });
    try {
      const removal = auth.begin(async (tx) => {
        await tx`delete from members where org_id = ${org.id} and user_id = ${user.id}`;
        // The request below starts now and must wait on the membership row lock.
        const write = member.request('POST', '/v1/projects', { name: 'slipped in' });
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Wrapped: returning the bare promise would make the transaction wait for it.
        return { write };
      });
      const { write } = await removal;
      expect((await write).status).toBe(403);
    } finally {
      await auth.end();
    }
    const stored = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(projects));
    expect(stored.map((p) => p.name)).not.toContain('slipped in');
  });

  it('lets a request that locked the membership first finish before the removal goes through', async () => {
    const { org, member, user, owner, email } = await orgWithMember();
    const auth = connect(env.db.authUrl, { ca: env.db.ca, max: 1 });
    try {
      await auth`select 1`;
      // The member's write holds the share lock; the removal queues behind it.
      const write = member.request('POST', '/v1/projects', { name: 'before removal' });
      const removal = owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: email, organizationId: org.id });
      const [w, r] = await Promise.all([write, removal]);
      expect(r.status).toBe(200);
      if (w.status === 201) {
        expect(await env.db.admin.withTenant(org.id, (tx) => tx.select().from(members).where(eq(members.userId, user.id)))).toEqual([]);
      } else {
        expect(w.status).toBe(403);
      }
      expect((await member.request('GET', '/v1/projects')).status).toBe(403);
    } finally {
      await auth.end();
    }
  });
});

describe('identity bad input', () => {
  it('answers wrong passwords and unknown emails alike, with 401 problem+json', async () => {
    const email = uniqueEmail('pw');
    await new UserAgent(env.server).signUp(email);
    const wrong = await new UserAgent(env.server).signIn(email, 'not the password at all');
    const unknown = await new UserAgent(env.server).signIn(uniqueEmail('nobody'), 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.get('content-type')).toBe('application/problem+json');
    expect({ ...wrong.body, instance: 0 }).toEqual({ ...unknown.body, instance: 0 });
  });

  it('creates no user for an invalid sign-up, and refuses a duplicate email', async () => {
    const agent = new UserAgent(env.server);
    for (const body of [
      { email: 'not-an-email', name: 'x', password: 'correct horse battery' },
      { email: uniqueEmail('short'), name: 'x', password: 'short' },
      { email: uniqueEmail('nameless'), password: 'correct horse battery' },
    ]) {
      const response = await agent.request('POST', '/api/auth/sign-up/email', body);
      expect(response.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      if (typeof body.email === 'string') {
        expect(await env.db.identity.db.select().from(users).where(eq(users.email, body.email))).toEqual([]);
      }
    }
    const email = uniqueEmail('twice');
    await new UserAgent(env.server).signUp(email);
    const again = await new UserAgent(env.server).request('POST', '/api/auth/sign-up/email', { email, name: 'x', password: 'correct horse battery' });
    expect(again.status).toBe(422);
  });

  it('refuses oversized bodies with 413 and never logs a stack trace to the client', async () => {
    const response = await new UserAgent(env.server).request('POST', '/api/auth/sign-up/email', {
      email: uniqueEmail('big'),
      name: 'x'.repeat(100_000),
      password: 'correct horse battery',
    });
    expect(response.status).toBe(413);
    expect(response.text).not.toMatch(/\.ts:\d+|at .*\(/);
  });
});

describe("another organization's members", () => {
  it('are answered as unknown ids are, by removal and role change alike, whatever the role on either side', async () => {
    const here = await orgWithMember('admin');
    const there = await orgWithMember('member');
    const [theirOwner] = await env.db.admin.withTenant(there.org.id, (tx) => tx.select().from(members).where(eq(members.role, 'owner')));
    const answer = async (agent: UserAgent, path: string, body: Record<string, unknown>) => {
      const response = await agent.request('POST', path, body);
      return { status: response.status, title: response.body.title, detail: response.body.detail, code: response.body.code };
    };
    const unknown = crypto.randomUUID();
    for (const agent of [here.owner, here.member]) {
      for (const theirs of [theirOwner!.id, there.memberId]) {
        // Named with this organization's id, and through the session's active organization.
        for (const organizationId of [{ organizationId: here.org.id }, {}]) {
          const removal = (memberIdOrEmail: string) => answer(agent, '/api/auth/organization/remove-member', { memberIdOrEmail, ...organizationId });
          expect(await removal(theirs)).toEqual(await removal(unknown));
          const roleChange = (memberId: string) => answer(agent, '/api/auth/organization/update-member-role', { memberId, role: 'member', ...organizationId });
          expect(await roleChange(theirs)).toEqual(await roleChange(unknown));
        }
      }
    }
    expect((await answer(here.owner, '/api/auth/organization/remove-member', { memberIdOrEmail: unknown })).detail).toBe('Member not found');
    // Without a session, or without an organization to act in, the answer does not depend on the id either.
    const stranger = new UserAgent(env.server);
    const loner = new UserAgent(env.server);
    await loner.signUp(uniqueEmail('loner'));
    for (const [agent, organizationId] of [[stranger, { organizationId: there.org.id }], [stranger, {}], [loner, {}]] as const) {
      for (const [path, field] of [['/api/auth/organization/remove-member', 'memberIdOrEmail'], ['/api/auth/organization/update-member-role', 'memberId']] as const) {
        const asked = (id: string) => answer(agent, path, { [field]: id, role: 'member', ...organizationId });
        expect(await asked(theirOwner!.id)).toEqual(await asked(unknown));
      }
    }
    // The console passes a member id on as typed; other spellings Postgres reads as the same uuid get the same answer.
    const unhyphenated = theirOwner!.id.replaceAll('-', '');
    const viaConsole = async (id: string) => {
      const removed = await here.member.request('POST', '/console/members/remove', new URLSearchParams({ memberId: id }));
      const page = await here.member.follow(removed);
      return { path: page.path, ...page.messages };
    };
    expect(await viaConsole(unknown)).toEqual({ path: '/console/members', error: expect.any(String) });
    expect(await viaConsole(unhyphenated)).toEqual(await viaConsole(unknown.replaceAll('-', '')));
    expect(await viaConsole(`{${theirOwner!.id}}`)).toEqual(await viaConsole(unknown));
    // Nothing changed over there, and this organization's own members are still reached.
    const theirs = await env.db.admin.withTenant(there.org.id, (tx) => tx.select({ role: members.role }).from(members).where(eq(members.organizationId, there.org.id)));
    expect(theirs.map((m) => m.role).sort()).toEqual(['member', 'owner']);
    expect((await here.owner.request('POST', '/api/auth/organization/update-member-role', { memberId: here.memberId, role: 'member', organizationId: here.org.id })).status).toBe(200);
  });
});
