import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog } from '../../db/schema/audit.ts';
import { members, sessions, users } from '../../db/schema/auth.ts';
import { CLIENT_ADDRESS_HEADER } from '../../middleware/addresses.ts';
import { useTestServer } from '../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../test/user-agent.ts';

const env = useTestServer();

// Better Auth writes the address it is handed into sessions and into the
// hash-chained audit rows; a client must not be able to choose it.
const FORGED = { [CLIENT_ADDRESS_HEADER]: '203.0.113.66' };

describe('the console hands Better Auth the address the platform saw', () => {
  it('in the audit row of a member removal', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    const org = await owner.createOrganization('Forged');
    const email = uniqueEmail('member');
    await new UserAgent(env.server).signUp(email);
    const invite = await owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: org.id });
    expect(invite.status).toBe(200);
    const member = new UserAgent(env.server);
    expect((await member.signIn(email)).status).toBe(200);
    expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
    const [row] = await env.db.admin.withTenant(org.id, (tx) => tx.select({ id: members.id }).from(members).where(eq(members.role, 'member')));

    const removed = await owner.request('POST', '/console/members/remove', new URLSearchParams({ memberId: row!.id }), FORGED);
    expect(await owner.follow(removed)).toMatchObject({ path: '/console/members', messages: { notice: 'Member removed.' } });
    const trail = await env.db.admin.withTenant(org.id, (tx) => tx.select().from(auditLog).where(and(eq(auditLog.orgId, org.id), eq(auditLog.action, 'member.remove'))));
    expect(trail.map((r) => r.ip)).toEqual(['127.0.0.1']);
  });

  it('on the session a console sign-in opens', async () => {
    const email = uniqueEmail('signer');
    await new UserAgent(env.server).signUp(email);
    const signedIn = await new UserAgent(env.server).request('POST', '/console/sign-in', new URLSearchParams({ email, password: 'correct horse battery' }), FORGED);
    expect(signedIn.headers.get('location')).toBe('/console');
    const opened = await env.db.admin.db
      .select({ ip: sessions.ipAddress })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(users.email, email));
    expect(opened.map((s) => s.ip)).toEqual(['127.0.0.1', '127.0.0.1']);
  });
});
