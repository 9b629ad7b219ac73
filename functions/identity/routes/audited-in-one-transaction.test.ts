import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog } from '../../../db/schema/audit.ts';
import { invitations, members, verifications } from '../../../db/schema/auth.ts';
import { identityTransactions } from '../../../auth/transactions.ts';
import { someoneWaitsForALock } from '../../../test/races.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

const env = useTestServer();

/**
 * What Better Auth changes in an organization commits with its audit row or
 * not at all: with the organization's chain unable to take a row (its head set
 * back one, so the next append claims a seq that is taken), every such change
 * fails as a whole and leaves the database as it was.
 */
describe('Better Auth changes and their audit rows', () => {
  async function organization() {
    const owner = new UserAgent(env.server);
    const ownerEmail = uniqueEmail('owner');
    const ownerUser = await owner.signUp(ownerEmail);
    const org = await owner.createOrganization('One transaction');
    const member = new UserAgent(env.server);
    const memberEmail = uniqueEmail('member');
    const memberUser = await member.signUp(memberEmail);
    const invite = await owner.request('POST', '/api/auth/organization/invite-member', { email: memberEmail, role: 'member', organizationId: org.id });
    expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
    const invitee = new UserAgent(env.server);
    const inviteeEmail = uniqueEmail('invitee');
    await invitee.signUp(inviteeEmail);
    const pending = await owner.request('POST', '/api/auth/organization/invite-member', { email: inviteeEmail, role: 'member', organizationId: org.id });
    expect(pending.status).toBe(200);
    const asAdmin = <T>(fn: Parameters<typeof env.db.admin.withTenant<T>>[1]) => env.db.admin.withTenant(org.id, fn);
    const state = async () => ({
      members: (await asAdmin((tx) => tx.select({ userId: members.userId, role: members.role }).from(members).where(eq(members.organizationId, org.id)))).sort((a, b) => a.userId.localeCompare(b.userId)),
      invitations: (await asAdmin((tx) => tx.select({ email: invitations.email, status: invitations.status }).from(invitations).where(eq(invitations.organizationId, org.id)))).sort((a, b) => a.email.localeCompare(b.email)),
      auditRows: (await asAdmin((tx) => tx.select({ seq: auditLog.seq }).from(auditLog).where(eq(auditLog.orgId, org.id)))).length,
    });
    const moveHead = (by: number) => asAdmin((tx) => tx.execute(sql`update audit_chain_heads set seq = seq + ${by} where org_id = ${org.id}`));
    return { owner, ownerEmail, ownerUser, org, member, memberEmail, memberUser, invitee, invitation: pending.body.id as string, state, moveHead };
  }

  it('fails each change as a whole when its audit row cannot be written, through the API and through the console', async () => {
    const o = await organization();
    const [memberRow] = await env.db.admin.withTenant(o.org.id, (tx) =>
      tx.select({ id: members.id }).from(members).where(and(eq(members.organizationId, o.org.id), eq(members.userId, o.memberUser.id))),
    );
    // The owner works in another organization, to switch back into this one below.
    const elsewhere = await o.owner.createOrganization('Elsewhere');
    expect((await o.owner.request('POST', '/v1/session/active-organization', { organizationId: elsewhere.id })).status).toBe(200);
    // And in the console, in a second browser, in this one.
    const consoleBrowser = new UserAgent(env.server);
    expect((await consoleBrowser.signIn(o.ownerEmail)).status).toBe(200);
    expect((await consoleBrowser.request('POST', '/v1/session/active-organization', { organizationId: o.org.id })).status).toBe(200);
    const before = await o.state();
    await o.moveHead(-1);

    const attempts: [string, () => Promise<{ status: number; headers: Headers }>][] = [
      ['invite', () => o.owner.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail('new'), role: 'member', organizationId: o.org.id })],
      ['cancel invitation', () => o.owner.request('POST', '/api/auth/organization/cancel-invitation', { invitationId: o.invitation })],
      ['accept invitation', () => o.invitee.request('POST', '/api/auth/organization/accept-invitation', { invitationId: o.invitation })],
      ['change role', () => o.owner.request('POST', '/api/auth/organization/update-member-role', { memberId: memberRow!.id, role: 'admin', organizationId: o.org.id })],
      ['remove member', () => o.owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: o.memberEmail, organizationId: o.org.id })],
      ['leave', () => o.member.request('POST', '/api/auth/organization/leave', { organizationId: o.org.id })],
      ['rename', () => o.owner.request('POST', '/api/auth/organization/update', { organizationId: o.org.id, data: { name: 'Renamed' } })],
      ['switch (our route, auth.api inside)', () => o.owner.request('POST', '/v1/session/active-organization', { organizationId: o.org.id })],
      ['switch (Better Auth route)', () => o.owner.request('POST', '/api/auth/organization/set-active', { organizationId: o.org.id })],
      ['delete account', () => o.member.request('POST', '/api/auth/delete-user', { password: 'correct horse battery' })],
    ];
    for (const [what, attempt] of attempts) {
      const response = await attempt();
      expect(response.status, what).toBe(500);
      expect(response.headers.get('content-type'), what).toBe('application/problem+json');
      expect(await o.state(), what).toEqual(before);
    }
    const fromConsole = await consoleBrowser.request('POST', '/console/members/remove', new URLSearchParams({ memberId: memberRow!.id }));
    expect(await consoleBrowser.follow(fromConsole)).toMatchObject({ path: '/console/members', messages: { error: expect.any(String) } });
    expect(await o.state()).toEqual(before);
    // The member's account and session are whole; the owner still works elsewhere.
    expect((await o.member.request('GET', '/v1/session')).status).toBe(200);
    expect((await o.owner.request('GET', '/v1/session')).body.activeOrganizationId).toBe(elsewhere.id);

    // Once the chain takes rows again, the same changes go through, each with its row, and the chain verifies.
    await o.moveHead(1);
    expect((await o.owner.request('POST', '/v1/session/active-organization', { organizationId: o.org.id })).status).toBe(200);
    expect((await o.owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: o.memberEmail, organizationId: o.org.id })).status).toBe(200);
    const after = await o.state();
    expect(after.auditRows).toBe(before.auditRows + 2);
    expect(after.members.map((m) => m.userId)).toEqual([o.ownerUser.id]);
    const verify = await o.owner.request('GET', '/v1/audit-log/verify');
    expect(verify.body).toMatchObject({ ok: true, head: { seq: after.auditRows } });
  });

  it('hold at most all but one of the auth pool’s connections at once, so session lookups go on; the rest answer 503 and write nothing', async () => {
    const busy = await organization();
    const other = await organization();
    const otherBefore = await other.state();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const headLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = env.db.admin.withTenant(busy.org.id, async (tx) => {
      await tx.execute(sql`select 1 from audit_chain_heads where org_id = ${busy.org.id} for update`);
      locked();
      await held;
    });
    await headLocked;
    // Two invitations wait for the chain head, each in its transaction on one of the auth pool's three connections.
    const blocked = [1, 2].map((i) => busy.owner.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail(`blocked-${i}`), role: 'member', organizationId: busy.org.id }));
    await someoneWaitsForALock(env.db, 2);
    const refused = await other.owner.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail('refused'), role: 'member', organizationId: other.org.id });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    // The third connection still serves every request's session lookup.
    expect((await other.owner.request('GET', '/v1/session')).status).toBe(200);
    release();
    await holding;
    expect((await Promise.all(blocked)).map((r) => r.status)).toEqual([200, 200]);
    expect(await other.state()).toEqual(otherBefore);
  });

  it('rolls back what was written before an error response, and still hands that response back', async () => {
    const transactions = identityTransactions(env.db.identity.db);
    const identifier = `refused-${Math.random()}`;
    const written = () => transactions.db.select().from(verifications).where(eq(verifications.identifier, identifier));
    const refused = await transactions.together(
      async () => {
        await transactions.db.insert(verifications).values({ identifier, value: 'x', expiresAt: new Date(Date.now() + 60_000) });
        // Inside, the row is there: the statement went to this transaction.
        expect(await written()).toHaveLength(1);
        return new Response('no', { status: 403 });
      },
      (response) => response.status >= 400,
    );
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('no');
    expect(await written()).toEqual([]);
    // A thrown error rolls back too; a success commits.
    await expect(
      transactions.together(async () => {
        await transactions.db.insert(verifications).values({ identifier, value: 'y', expiresAt: new Date(Date.now() + 60_000) });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await written()).toEqual([]);
    await transactions.together(async () => transactions.db.insert(verifications).values({ identifier, value: 'z', expiresAt: new Date(Date.now() + 60_000) }));
    expect((await written()).map((r) => r.value)).toEqual(['z']);
    expect(transactions.current()).toBeUndefined();
  });
});
