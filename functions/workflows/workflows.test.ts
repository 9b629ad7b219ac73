import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../test/user-agent.ts';

const env = useTestServer();
let acme: TestTenant;
let member: UserAgent;
let projectId: string;
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  projectId = (await acme.owner.request('POST', '/v1/projects', { name: 'Model release' })).body.id;
  member = new UserAgent(env.server);
  const email = uniqueEmail('reviewer');
  await member.signUp(email);
  const invite = await acme.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: acme.orgId });
  await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id });
});

const steps = [
  { name: 'Tests pass', kind: 'automated', requiredRole: 'member' },
  { name: 'Risk review', kind: 'review', requiredRole: 'member' },
  { name: 'Sign-off', kind: 'approval', requiredRole: 'admin' },
];

describe('workflows', () => {
  it('keep earlier versions readable when an active workflow is edited', async () => {
    const created = await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Release', steps });
    expect(created.body).toMatchObject({ status: 'draft', version: 1 });
    const id = created.body.id;
    // A draft is edited in place...
    expect((await acme.owner.request('PATCH', `/v1/workflows/${id}`, { steps: steps.slice(0, 2) })).body.version).toBe(1);
    await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
    // ...an active one gets a new version.
    const edited = await acme.owner.request('PATCH', `/v1/workflows/${id}`, { steps });
    expect(edited.body).toMatchObject({ version: 2, status: 'active' });
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/versions/1`)).body.steps).toHaveLength(2);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/versions/2`)).body.steps).toHaveLength(3);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/versions/3`)).status).toBe(404);
  });

  it('run step by step, each decision by someone allowed to make it, each recorded as a decision event', async () => {
    const id = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Gate', steps })).body.id;
    expect((await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).status).toBe(409);
    await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
    const run = (await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body;
    const decide = (who: UserAgent | Record<string, string>, verdict = 'complete') =>
      who instanceof UserAgent
        ? who.request('POST', `/v1/workflows/${id}/runs/${run.id}/${verdict}`, { rationale: 'looked at it' })
        : fetch(`${env.server.url}/v1/workflows/${id}/runs/${run.id}/${verdict}`, { method: 'POST', headers: who, body: JSON.stringify({}) }).then(async (r) => ({ status: r.status, body: await r.json() }));

    // Step 0 is automated: an API key may complete it.
    expect((await decide(acme.headers)).body.currentStep).toBe(1);
    // Step 1 is a review: not by an API key, but by any member.
    expect((await decide(acme.headers)).status).toBe(403);
    expect((await decide(member)).body.currentStep).toBe(2);
    // Step 2 needs an admin: the member is refused, the owner may.
    const refused = await decide(member);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/admin/);
    const done = await decide(acme.owner);
    expect(done.body).toMatchObject({ status: 'completed', currentStep: 3 });
    expect((await decide(acme.owner)).status).toBe(409);

    const events = (await acme.owner.request('GET', `/v1/decision-events?projectId=${projectId}`)).body.data;
    expect(events.map((e: { title: string }) => e.title).sort()).toEqual(['Risk review: completed', 'Sign-off: completed', 'Tests pass: completed']);
  });

  it('end a run when a step is rejected', async () => {
    const id = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Reject me', steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }] })).body.id;
    await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
    const run = (await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body;
    const rejected = await member.request('POST', `/v1/workflows/${id}/runs/${run.id}/reject`, { rationale: 'not ready' });
    expect(rejected.body).toMatchObject({ status: 'rejected', currentStep: 0 });
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${run.id}`)).body.status).toBe('rejected');
  });

  it('refuse bad definitions with 400', async () => {
    for (const body of [{ name: 'x', steps: [] }, { name: 'x', steps: [{ name: 'a', kind: 'vote' }] }, { name: '', steps }]) {
      expect((await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, body)).status).toBe(400);
    }
  });
});
