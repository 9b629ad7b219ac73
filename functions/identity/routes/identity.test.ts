import { describe, expect, it } from 'vitest';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

const env = useTestServer();

describe('session-bound organizations, end to end over HTTP', () => {
  it('sign-up, organization, project, invitation, switch, removal: access follows membership on the very next request', async () => {
    const alice = new UserAgent(env.server);
    await alice.signUp(uniqueEmail('alice'));
    const acme = await alice.createOrganization('Acme');
    const created = await alice.request('POST', '/v1/projects', { name: 'Acme roadmap' });
    expect(created.status).toBe(201);

    const bob = new UserAgent(env.server);
    const bobEmail = uniqueEmail('bob');
    const bobUser = await bob.signUp(bobEmail);
    const invite = await alice.request('POST', '/api/auth/organization/invite-member', { email: bobEmail, role: 'member', organizationId: acme.id });
    expect(invite.status).toBe(200);

    // Bob has no organization yet: tenant routes refuse him.
    expect((await bob.request('GET', '/v1/projects')).status).toBe(403);
    // An unverified address may not browse invitations sent to it (anyone could
    // sign up with it); the invitation id, handed over as a link, is the capability.
    expect((await bob.request('GET', '/api/auth/organization/list-user-invitations')).status).toBe(403);
    const stranger = new UserAgent(env.server);
    await stranger.signUp(uniqueEmail('mallory'));
    const stolen = await stranger.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id });
    expect(stolen.status).toBe(403);
    expect(stolen.body.code).toBe('YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION');
    expect((await bob.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);

    const switched = await bob.request('POST', '/v1/session/active-organization', { organizationId: acme.id });
    expect(switched.status).toBe(200);
    const bobProjects = await bob.request('GET', '/v1/projects');
    expect(bobProjects.status).toBe(200);
    expect(bobProjects.body.data.map((p: { name: string }) => p.name)).toEqual(['Acme roadmap']);

    const removed = await alice.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: bobEmail, organizationId: acme.id });
    expect(removed.status).toBe(200);
    const after = await bob.request('GET', '/v1/projects');
    expect(after.status).toBe(403);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
    const session = await bob.request('GET', '/v1/session');
    expect(session.body).toMatchObject({ user: { id: bobUser.id }, activeOrganizationId: null, organizations: [] });
  });

  it('two users in two organizations each see only their own projects', async () => {
    const [carol, dave] = [new UserAgent(env.server), new UserAgent(env.server)];
    await carol.signUp(uniqueEmail('carol'));
    await dave.signUp(uniqueEmail('dave'));
    await carol.createOrganization('Carol Co');
    await dave.createOrganization('Dave Inc');
    for (let i = 0; i < 3; i++) {
      expect((await carol.request('POST', '/v1/projects', { name: `carol-${i}` })).status).toBe(201);
      expect((await dave.request('POST', '/v1/projects', { name: `dave-${i}` })).status).toBe(201);
    }
    const carolNames = (await carol.request('GET', '/v1/projects')).body.data.map((p: { name: string }) => p.name);
    const daveNames = (await dave.request('GET', '/v1/projects')).body.data.map((p: { name: string }) => p.name);
    expect(carolNames.sort()).toEqual(['carol-0', 'carol-1', 'carol-2']);
    expect(daveNames.sort()).toEqual(['dave-0', 'dave-1', 'dave-2']);
  });
});
