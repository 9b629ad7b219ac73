import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { members } from '../../db/schema/auth.ts';
import { workflowRuns, workflows } from '../../db/schema/workflows.ts';
import { withoutInstance } from '../../test/expect.ts';
import { someoneWaitsForALock, withSlowInserts } from '../../test/races.ts';
import { createTenant, settledWithin, type TestTenant } from '../../test/tenants.ts';
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

/**
 * A user who joined Acme through an invitation for `role`. `stored`, if given,
 * overwrites the membership's role column afterwards, as Better Auth would
 * store a list of roles ("admin,member").
 */
async function joinAcme(role: 'member' | 'admin', stored?: string) {
  const agent = new UserAgent(env.server);
  const email = uniqueEmail(role);
  const user = await agent.signUp(email);
  const invite = await acme.owner.request('POST', '/api/auth/organization/invite-member', { email, role, organizationId: acme.orgId });
  expect((await agent.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id })).status).toBe(200);
  if (stored) await env.db.admin.withTenant(acme.orgId, (tx) => tx.update(members).set({ role: stored }).where(eq(members.userId, user.id)));
  return agent;
}

/** An active workflow of `definition` and a run of it; `decide` posts a verdict on that run's step `step`. */
async function activeWithRun(definition: unknown[]) {
  const id = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Gate', steps: definition })).body.id as string;
  expect((await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' })).status).toBe(200);
  const run = (await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body as { id: string };
  const decide = (who: UserAgent, step: number, verdict = 'complete') => who.request('POST', `/v1/workflows/${id}/runs/${run.id}/${verdict}`, { step, rationale: 'looked at it' });
  return { id, runId: run.id, decide };
}

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
    const decide = (who: UserAgent | Record<string, string>, step: number, verdict = 'complete') =>
      who instanceof UserAgent
        ? who.request('POST', `/v1/workflows/${id}/runs/${run.id}/${verdict}`, { step, rationale: 'looked at it' })
        : fetch(`${env.server.url}/v1/workflows/${id}/runs/${run.id}/${verdict}`, { method: 'POST', headers: who, body: JSON.stringify({ step }) }).then(async (r) => ({ status: r.status, body: await r.json() }));

    // Step 0 is automated: an API key may complete it.
    expect((await decide(acme.headers, 0)).body.currentStep).toBe(1);
    // Step 1 is a review: not by an API key, but by any member.
    expect((await decide(acme.headers, 1)).status).toBe(403);
    expect((await decide(member, 1)).body.currentStep).toBe(2);
    // Step 2 needs an admin: the member is refused, the owner may.
    const refused = await decide(member, 2);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/admin/);
    const done = await decide(acme.owner, 2);
    expect(done.body).toMatchObject({ status: 'completed', currentStep: 3 });
    expect((await decide(acme.owner, 3)).status).toBe(409);

    const events = (await acme.owner.request('GET', `/v1/decision-events?projectId=${projectId}`)).body.data;
    expect(events.map((e: { title: string }) => e.title).sort()).toEqual(['Risk review: completed', 'Sign-off: completed', 'Tests pass: completed']);
  });

  it('decide only the step the caller names: of two identical completes sent at once, the second is refused, not applied to the next step', async () => {
    const { id, runId, decide } = await activeWithRun([
      { name: 'First', kind: 'review', requiredRole: 'member' },
      { name: 'Second', kind: 'approval', requiredRole: 'owner' },
    ]);
    const both = await Promise.all([decide(acme.owner, 0), decide(acme.owner, 0)]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = both.find((r) => r.status === 409)!;
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.detail).toMatch(/at step 1 \("Second"\), not step 0/);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body).toMatchObject({ status: 'running', currentStep: 1 });
    const events = (await acme.owner.request('GET', `/v1/decision-events?projectId=${projectId}&limit=200`)).body.data as { metadata: { workflowId?: string }; title: string }[];
    expect(events.filter((e) => e.metadata.workflowId === id).map((e) => e.title)).toEqual(['First: completed']);
    // A step not reached yet is refused too.
    expect((await decide(acme.owner, 2)).status).toBe(409);
  });

  it('let a project deletion and a workflow created, run started or step decided in it finish one after the other: no 500, no deadlock', async () => {
    const cases: { table: string; act: (project: string) => Promise<{ status: number; text: string }> }[] = [
      { table: 'workflows', act: (project) => acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Late', steps }) },
      {
        table: 'workflow_runs',
        act: async (project) => {
          const wf = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Late', steps })).body.id;
          await acme.owner.request('PATCH', `/v1/workflows/${wf}`, { status: 'active' });
          return acme.owner.request('POST', `/v1/workflows/${wf}/runs`);
        },
      },
      {
        table: 'decision_events',
        act: async (project) => {
          const wf = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Late', steps })).body.id;
          await acme.owner.request('PATCH', `/v1/workflows/${wf}`, { status: 'active' });
          const run = (await acme.owner.request('POST', `/v1/workflows/${wf}/runs`)).body.id;
          return acme.owner.request('POST', `/v1/workflows/${wf}/runs/${run}/complete`, { step: 0 });
        },
      },
    ];
    for (const { table, act } of cases) {
      const project = (await acme.owner.request('POST', '/v1/projects', { name: `Deleted under ${table}` })).body.id as string;
      // Everything before the slow insert runs at full speed; the insert then sleeps with what it locked.
      const [acted, deleted] = await withSlowInserts(env.db, table, 0.8, async (sleeping) => {
        const acting = act(project);
        await sleeping();
        return Promise.all([acting, acme.owner.request('DELETE', `/v1/projects/${project}`)]);
      });
      // The deletion waited for the write, then took it with the project.
      expect(acted.status, `${table}: ${acted.text}`).toBeLessThan(300);
      expect(deleted.status, `${table}: ${deleted.text}`).toBe(204);
    }
  });

  it('hold a signed-in member to an automated step’s required role too; an API key (the automation) may complete it', async () => {
    const { id, runId, decide } = await activeWithRun([
      { name: 'Deploy', kind: 'automated', requiredRole: 'admin' },
      { name: 'Smoke test', kind: 'automated', requiredRole: 'admin' },
    ]);
    for (const verdict of ['complete', 'reject']) {
      const refused = await decide(member, 0, verdict);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body.detail).toMatch(/needs the role admin.*you are member/);
    }
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body).toMatchObject({ status: 'running', currentStep: 0 });
    expect((await decide(acme.owner, 0)).body.currentStep).toBe(1);
    const byKey = await fetch(`${env.server.url}/v1/workflows/${id}/runs/${runId}/complete`, { method: 'POST', headers: acme.headers, body: JSON.stringify({ step: 1 }) });
    expect(byKey.status).toBe(200);
    expect(await byKey.json()).toMatchObject({ status: 'completed', currentStep: 2 });
  });

  it('end a run when a step is rejected', async () => {
    const id = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Reject me', steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }] })).body.id;
    await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
    const run = (await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body;
    const rejected = await member.request('POST', `/v1/workflows/${id}/runs/${run.id}/reject`, { step: 0, rationale: 'not ready' });
    expect(rejected.body).toMatchObject({ status: 'rejected', currentStep: 0 });
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${run.id}`)).body.status).toBe('rejected');
  });

  it('never change a version runs use: no way back to draft, and new steps on an active workflow are a new version', async () => {
    const ownerOnly = [{ name: 'Tests pass', kind: 'automated', requiredRole: 'member' }, { name: 'Sign-off', kind: 'approval', requiredRole: 'owner' }];
    const { id, runId, decide } = await activeWithRun(ownerOnly);
    expect((await decide(acme.owner, 0)).body.currentStep).toBe(1);

    // The review's scenario: back to draft, rewrite, activate again.
    const back = await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'draft' });
    expect(back.status).toBe(409);
    expect(back.headers.get('content-type')).toBe('application/problem+json');
    expect((await acme.owner.request('GET', `/v1/workflows/${id}`)).body).toMatchObject({ status: 'active', version: 1 });
    const edited = await acme.owner.request('PATCH', `/v1/workflows/${id}`, { steps: [{ name: 'x', kind: 'automated' }] });
    expect(edited.body).toMatchObject({ status: 'active', version: 2 });

    // The run keeps version 1: its owner-only step still needs the owner.
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/versions/1`)).body.steps).toEqual(ownerOnly);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body).toMatchObject({ version: 1, steps: ownerOnly, currentStep: 1 });
    expect((await decide(member, 1)).status).toBe(403);
    expect((await decide(acme.owner, 1)).body).toMatchObject({ status: 'completed', currentStep: 2 });
    // New runs start on the new version.
    expect((await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body).toMatchObject({ version: 2, steps: [{ name: 'x', kind: 'automated' }] });
  });

  it('keep a used version even for a draft set back from active before that was refused', async () => {
    const ownerOnly = [{ name: 'Sign-off', kind: 'approval', requiredRole: 'owner' }];
    const { id, runId, decide } = await activeWithRun(ownerOnly);
    // What PATCH {status: 'draft'} used to allow, written directly.
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.update(workflows).set({ status: 'draft' }).where(eq(workflows.id, id)));
    const edited = await acme.owner.request('PATCH', `/v1/workflows/${id}`, { steps: [{ name: 'x', kind: 'automated' }] });
    expect(edited.body).toMatchObject({ status: 'draft', version: 2 });
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/versions/1`)).body.steps).toEqual(ownerOnly);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body.steps).toEqual(ownerOnly);
    expect((await decide(member, 0)).status).toBe(403);
  });

  it('answer 409, not 500, for a run at a step its version does not have', async () => {
    const { id, runId, decide } = await activeWithRun([{ name: 'Look', kind: 'review', requiredRole: 'member' }]);
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.update(workflowRuns).set({ currentStep: 3 }).where(eq(workflowRuns.id, runId)));
    for (const verdict of ['complete', 'reject']) {
      const response = await decide(acme.owner, 3, verdict);
      expect(response.status).toBe(409);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.body.detail).toMatch(/step 3/);
    }
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body).toMatchObject({ status: 'running', currentStep: 3 });
  });

  it('are changed by owners and admins only, never by plain members or API keys', async () => {
    const id = (await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Guarded', steps })).body.id;
    const admin = await joinAcme('admin');
    for (const change of [{ name: 'renamed' }, { status: 'active' }, { steps: steps.slice(0, 1) }]) {
      const byMember = await member.request('PATCH', `/v1/workflows/${id}`, change);
      expect(byMember.status).toBe(403);
      expect(byMember.body.detail).toMatch(/owner or admin/);
      const byKey = await fetch(`${env.server.url}/v1/workflows/${id}`, { method: 'PATCH', headers: acme.headers, body: JSON.stringify(change) });
      expect(byKey.status).toBe(403);
      expect(byKey.headers.get('content-type')).toBe('application/problem+json');
    }
    expect((await acme.owner.request('GET', `/v1/workflows/${id}`)).body).toMatchObject({ name: 'Guarded', status: 'draft', steps });
    expect((await admin.request('PATCH', `/v1/workflows/${id}`, { status: 'active' })).status).toBe(200);
    // Creating a draft stays open to members and keys: it runs nothing until an admin activates it.
    expect((await member.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Proposal', steps })).status).toBe(201);
  });

  it('judge a member holding a list of roles by the highest one, and refuse unknown roles', async () => {
    // Stored as Better Auth joins a list: an admin, not more.
    const listed = await joinAcme('member', 'admin,member');
    const ownerOnly = await activeWithRun([{ name: 'Owner sign-off', kind: 'approval', requiredRole: 'owner' }]);
    const refused = await ownerOnly.decide(listed, 0);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/needs the role owner.*you are admin/);
    const adminStep = await activeWithRun([{ name: 'Admin sign-off', kind: 'approval', requiredRole: 'admin' }]);
    expect((await adminStep.decide(listed, 0)).body.status).toBe('completed');
    const events = (await acme.owner.request('GET', `/v1/decision-events?projectId=${projectId}`)).body.data;
    expect(events.find((e: { metadata: { workflowId?: string } }) => e.metadata.workflowId === adminStep.id)?.metadata.role).toBe('admin');
    // Elsewhere the same member is an admin too (requireRole), not refused as an unknown role.
    expect((await listed.request('GET', '/v1/api-keys')).status).toBe(200);

    // A role Kommit does not know grants nothing, not even a member's reads.
    const unknown = await joinAcme('member', 'auditor');
    const response = await unknown.request('GET', '/v1/projects');
    expect(response.status).toBe(403);
    expect(response.body.detail).toMatch(/no role Kommit knows/);
  });

  it('list a project’s workflows newest first, a page at a time, filtered by status', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Many workflows' })).body.id as string;
    const ids: string[] = [];
    for (const name of ['one', 'two', 'three']) ids.push((await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name, steps })).body.id);
    await acme.owner.request('PATCH', `/v1/workflows/${ids[1]}`, { status: 'active' });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page = await acme.owner.request('GET', `/v1/projects/${project}/workflows?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((w: { name: string }) => w.name));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['three', 'two', 'one']);
    const active = await acme.owner.request('GET', `/v1/projects/${project}/workflows?status=active`);
    expect(active.body).toMatchObject({ data: [{ id: ids[1], status: 'active', steps }], nextCursor: null });
    for (const query of ['limit=0', 'status=gone', 'cursor=bm90LWEtY3Vyc29y']) {
      expect((await acme.owner.request('GET', `/v1/projects/${project}/workflows?${query}`)).status, query).toBe(400);
    }
  });

  it('list a workflow’s runs newest first, a page at a time, filtered by status, each with its version’s steps', async () => {
    const { id, runId: first, decide } = await activeWithRun([{ name: 'Look', kind: 'review', requiredRole: 'member' }]);
    expect((await decide(acme.owner, 0)).status).toBe(200);
    const runs = [first];
    for (let i = 0; i < 2; i++) runs.push((await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page = await acme.owner.request('GET', `/v1/workflows/${id}/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual([...runs].reverse());
    const completed = await acme.owner.request('GET', `/v1/workflows/${id}/runs?status=completed`);
    expect(completed.body).toMatchObject({ data: [{ id: first, status: 'completed', version: 1, steps: [{ name: 'Look' }] }], nextCursor: null });
    expect((await acme.owner.request('GET', `/v1/workflows/${crypto.randomUUID()}/runs`)).status).toBe(404);
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs?status=gone`)).status).toBe(400);
  });

  it('link each step’s decision event to its run and step, readable on the event and as a filter of the list', async () => {
    const { runId, decide } = await activeWithRun([
      { name: 'Look', kind: 'review', requiredRole: 'member' },
      { name: 'Sign', kind: 'approval', requiredRole: 'owner' },
    ]);
    expect((await decide(acme.owner, 0)).status).toBe(200);
    expect((await decide(acme.owner, 1, 'reject')).status).toBe(200);
    const list = await acme.owner.request('GET', `/v1/decision-events?workflowRunId=${runId}`);
    expect(list.status).toBe(200);
    expect(list.body.data).toMatchObject([
      { title: 'Sign: rejected', workflowRunId: runId, workflowStep: 1 },
      { title: 'Look: completed', workflowRunId: runId, workflowStep: 0 },
    ]);
    const one = await acme.owner.request('GET', `/v1/decision-events/${list.body.data[1].id}`);
    expect(one.body).toMatchObject({ workflowRunId: runId, workflowStep: 0 });
    // An event recorded directly belongs to no run.
    const direct = await acme.owner.request('POST', '/v1/decision-events', { projectId, kind: 'learning', title: 'No run' });
    expect(direct.body).toMatchObject({ workflowRunId: null, workflowStep: null });
    expect((await acme.owner.request('GET', `/v1/decision-events/${direct.body.id}`)).body).toMatchObject({ workflowRunId: null, workflowStep: null });
    expect((await acme.owner.request('GET', `/v1/decision-events?workflowRunId=${crypto.randomUUID()}`)).status).toBe(404);
  });

  it('refuse bad definitions with 400', async () => {
    for (const body of [{ name: 'x', steps: [] }, { name: 'x', steps: [{ name: 'a', kind: 'vote' }] }, { name: '', steps }]) {
      expect((await acme.owner.request('POST', `/v1/projects/${projectId}/workflows`, body)).status).toBe(400);
    }
  });

  it('take no new work while their project is archived: every write answers 409 and writes and audits nothing; unarchived, each works again', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Shelved' })).body.id as string;
    const id = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Gate', steps })).body.id as string;
    expect((await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' })).status).toBe(200);
    const runId = (await acme.owner.request('POST', `/v1/workflows/${id}/runs`)).body.id as string;
    const writes: [string, () => Promise<{ status: number; headers: Headers; body: any; text: string }>][] = [
      ['create a workflow', () => acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Late', steps })],
      ['edit the steps (a new version)', () => acme.owner.request('PATCH', `/v1/workflows/${id}`, { steps: steps.slice(0, 2) })],
      ['rename the workflow', () => acme.owner.request('PATCH', `/v1/workflows/${id}`, { name: 'Renamed' })],
      ['start a run', () => acme.owner.request('POST', `/v1/workflows/${id}/runs`)],
      ['complete a step', () => acme.owner.request('POST', `/v1/workflows/${id}/runs/${runId}/complete`, { step: 0 })],
      ['reject a step', () => acme.owner.request('POST', `/v1/workflows/${id}/runs/${runId}/reject`, { step: 1 })],
    ];
    const untouched = await footprint(project);
    expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'archived' })).status).toBe(200);
    const archived = await footprint(project);
    for (const [what, write] of writes) {
      const refused = await write();
      expect(refused.status, `${what}: ${refused.text}`).toBe(409);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body).toMatchObject({ type: 'urn:kommit:problem:project-archived', title: 'The project is archived' });
      expect(refused.body.detail).toBe(`Project ${project} is archived and takes no new work; unarchive it first (PATCH /v1/projects/${project} with status "active").`);
      expect(await footprint(project), what).toEqual(archived);
    }
    // The project's own writes aside (the archive's audit row), nothing changed under it.
    expect({ ...archived, auditRows: untouched.auditRows }).toEqual(untouched);
    // Reading stays open.
    for (const path of [`/v1/projects/${project}`, `/v1/projects/${project}/workflows`, `/v1/workflows/${id}`, `/v1/workflows/${id}/runs`, `/v1/workflows/${id}/runs/${runId}`]) {
      expect((await acme.owner.request('GET', path)).status, path).toBe(200);
    }

    expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'active' })).status).toBe(200);
    for (const [what, write] of writes) {
      const before = await footprint(project);
      const done = await write();
      expect(done.status, `${what}: ${done.text}`).toBeLessThan(300);
      expect((await footprint(project)).auditRows, what).toBeGreaterThan(before.auditRows);
    }
    expect((await acme.owner.request('GET', `/v1/workflows/${id}/runs/${runId}`)).body).toMatchObject({ status: 'rejected', currentStep: 1 });
  });

  it('may still be archived themselves while their project is archived, and nothing else', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Winding down' })).body.id as string;
    const create = async (name: string) => (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name, steps })).body.id as string;
    const [active, draft] = [await create('Active'), await create('Draft')];
    expect((await acme.owner.request('PATCH', `/v1/workflows/${active}`, { status: 'active' })).status).toBe(200);
    expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'archived' })).status).toBe(200);
    // Archiving together with any other change is still new work.
    for (const body of [{ status: 'archived', name: 'Renamed' }, { status: 'archived', steps: steps.slice(0, 1) }, { status: 'active' }]) {
      const refused = await acme.owner.request('PATCH', `/v1/workflows/${draft}`, body);
      expect(refused.status, JSON.stringify(body)).toBe(409);
      expect(refused.body.type).toBe('urn:kommit:problem:project-archived');
    }
    for (const id of [active, draft]) {
      const archived = await acme.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'archived' });
      expect(archived.status, archived.text).toBe(200);
      expect(archived.body.status).toBe('archived');
      const [row] = (await acme.owner.request('GET', `/v1/audit-log?action=workflow.update&targetId=${id}`)).body.data;
      expect(row.data.after.status).toBe('archived');
    }
  });

  it('refuse a write that waited for the project while it was archived, once the archive commits; an archive waits for a write under way', async () => {
    const cases: [string, (project: string) => Promise<() => Promise<{ status: number; body: any; text: string }>>][] = [
      ['create a workflow', async (project) => () => acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Late', steps })],
      [
        'edit a workflow',
        async (project) => {
          const wf = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Draft', steps })).body.id;
          return () => acme.owner.request('PATCH', `/v1/workflows/${wf}`, { steps: steps.slice(0, 1) });
        },
      ],
      [
        'start a run',
        async (project) => {
          const wf = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Gate', steps })).body.id;
          await acme.owner.request('PATCH', `/v1/workflows/${wf}`, { status: 'active' });
          return () => acme.owner.request('POST', `/v1/workflows/${wf}/runs`);
        },
      ],
      [
        'decide a step',
        async (project) => {
          const wf = (await acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'Gate', steps })).body.id;
          await acme.owner.request('PATCH', `/v1/workflows/${wf}`, { status: 'active' });
          const run = (await acme.owner.request('POST', `/v1/workflows/${wf}/runs`)).body.id;
          return () => acme.owner.request('POST', `/v1/workflows/${wf}/runs/${run}/complete`, { step: 0 });
        },
      ],
    ];
    for (const [what, prepare] of cases) {
      const project = (await acme.owner.request('POST', '/v1/projects', { name: `Archived under: ${what}` })).body.id as string;
      const write = await prepare(project);
      const before = await footprint(project);
      // The archive's UPDATE, held open by another connection: it changes only
      // the status, a column no key covers, so a key-share lock would not wait for it.
      let pending!: ReturnType<typeof write>;
      await env.db.admin.withTenant(acme.orgId, async (tx) => {
        await tx.execute(sql`update projects set status = 'archived', updated_at = now() where id = ${project}`);
        pending = write();
        await someoneWaitsForALock(env.db);
        expect(await settledWithin(pending), what).toBe('waiting');
      });
      const refused = await pending;
      expect(refused.status, `${what}: ${refused.text}`).toBe(409);
      expect(refused.body.type).toBe('urn:kommit:problem:project-archived');
      expect(await footprint(project), what).toEqual(before);
    }

    // The other way round: a write under way holds the project, the archive waits for it and comes after it.
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Archived after a write' })).body.id as string;
    const [created, archived] = await withSlowInserts(env.db, 'workflows', 0.8, async (sleeping) => {
      const creating = acme.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'In time', steps });
      await sleeping();
      const archiving = acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'archived' });
      await someoneWaitsForALock(env.db);
      return Promise.all([creating, archiving]);
    });
    expect([created.status, archived.status]).toEqual([201, 200]);
    const order = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ action: string }>(sql`select action from audit_log where target_id in (${project}, ${created.body.id}) order by seq`),
    );
    expect(order.map((r) => r.action)).toEqual(['project.create', 'workflow.create', 'project.update']);
  });

  it('answer a project or workflow of another organization in a list’s path exactly like a missing one (404)', async () => {
    const globex = await createTenant(env.db, env.server, 'Globex');
    const theirProject = (await globex.owner.request('POST', '/v1/projects', { name: 'Theirs' })).body.id as string;
    const theirWorkflow = (await globex.owner.request('POST', `/v1/projects/${theirProject}/workflows`, { name: 'Theirs', steps })).body.id as string;
    const { id } = await activeWithRun([{ name: 'Look', kind: 'review', requiredRole: 'member' }]);
    for (const [mine, theirs, missing] of [
      [`/v1/projects/${projectId}/workflows`, `/v1/projects/${theirProject}/workflows`, `/v1/projects/${crypto.randomUUID()}/workflows`],
      [`/v1/workflows/${id}/runs`, `/v1/workflows/${theirWorkflow}/runs`, `/v1/workflows/${crypto.randomUUID()}/runs`],
    ] as const) {
      const own = await acme.owner.request('GET', mine);
      expect(own.status, mine).toBe(200);
      expect(own.body.data.length, mine).toBeGreaterThan(0);
      const [other, absent] = [await acme.owner.request('GET', theirs), await acme.owner.request('GET', missing)];
      expect([other.status, absent.status], theirs).toEqual([404, 404]);
      expect(withoutInstance(other.body)).toEqual(withoutInstance(absent.body));
    }
  });
});

/**
 * What writes under the project have left, read past the API (as the schema
 * owner, inside the organization): its workflows with their state, their
 * versions' steps, their runs with their state, its decision events, and the
 * organization's audit rows.
 */
async function footprint(project: string) {
  const [row] = await env.db.admin.withTenant(acme.orgId, (tx) =>
    tx.execute<{ workflows: string | null; versions: string | null; runs: string | null; decisionEvents: number; auditRows: number }>(sql`
      select
        (select string_agg(concat_ws(':', id, name, status, current_version), ',' order by id) from workflows where project_id = ${project}) as workflows,
        (select md5(string_agg(concat_ws(':', v.workflow_id, v.version, v.steps::text), ',' order by v.workflow_id, v.version))
           from workflow_versions v join workflows w on w.org_id = v.org_id and w.id = v.workflow_id where w.project_id = ${project}) as versions,
        (select string_agg(concat_ws(':', r.id, r.status, r.current_step), ',' order by r.id)
           from workflow_runs r join workflows w on w.org_id = r.org_id and w.id = r.workflow_id where w.project_id = ${project}) as runs,
        (select count(*)::int from decision_events where project_id = ${project}) as "decisionEvents",
        (select count(*)::int from audit_log) as "auditRows"`),
  );
  return row!;
}
