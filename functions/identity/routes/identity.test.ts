import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/database.ts';
import { startTestServer, type TestServer } from '../../../test/server.ts';
import { UserAgent } from '../../../test/user-agent.ts';

let db: TestDatabase;
let server: TestServer;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer(db);
});
afterAll(async () => {
  await server.close();
  await db.close();
});

const unique = (name: string) => `${name}-${Math.random().toString(36).slice(2, 8)}@example.test`;

describe('session-bound organizations, end to end over HTTP', () => {
  it('sign-up, organization, project, invitation, switch, removal: access follows membership on the very next request', async () => {
    const alice = new UserAgent(server);
    await alice.signUp(unique('alice'));
    const acme = await alice.createOrganization('Acme');
    const created = await alice.request('POST', '/v1/projects', { name: 'Acme roadmap' });
    expect(created.status).toBe(201);

    const bob = new UserAgent(server);
    const bobEmail = unique('bob');
    const bobUser = await bob.signUp(bobEmail);
    const invite = await alice.request('POST', '/api/auth/organization/invite-member', { email: bobEmail, role: 'member', organizationId: acme.id });
    expect(invite.status).toBe(200);

    // Bob has no organization yet: tenant routes refuse him.
    expect((await bob.request('GET', '/v1/projects')).status).toBe(403);
    // An unverified address may not browse invitations sent to it (anyone could
    // sign up with it); the invitation id, handed over as a link, is the capability.
    expect((await bob.request('GET', '/api/auth/organization/list-user-invitations')).status).toBe(403);
    const stranger = new UserAgent(server);
    await stranger.signUp(unique('mallory'));
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
    const [carol, dave] = [new UserAgent(server), new UserAgent(server)];
    await carol.signUp(unique('carol'));
    await dave.signUp(unique('dave'));
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
