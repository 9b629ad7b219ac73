import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decisionEvents } from '../../../db/schema/decisions.ts';
import { withoutInstance } from '../../../test/expect.ts';
import { someoneWaitsForALock, withSlowInserts } from '../../../test/races.ts';
import { createTenant, settledWithin, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';

const env = useTestServer();
let acme: TestTenant;
let globex: TestTenant;
let acmeProject: string;
let globexProject: string;
beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
  acmeProject = (await acme.owner.request('POST', '/v1/projects', { name: 'acme' })).body.id;
  globexProject = (await globex.owner.request('POST', '/v1/projects', { name: 'globex' })).body.id;
});

const record = (tenant: TestTenant, body: Record<string, unknown>) => tenant.owner.request('POST', '/v1/decision-events', body);

describe('decision events', () => {
  it('recorded or superseding while their project is deleted finish before the deletion, never with a 500 or a deadlock', async () => {
    for (const supersede of [false, true]) {
      const project = (await acme.owner.request('POST', '/v1/projects', { name: `Deleted (supersede: ${supersede})` })).body.id as string;
      const earlier = supersede ? (await record(acme, { projectId: project, kind: 'decision', title: 'Earlier' })).body.id : undefined;
      const [created, deleted] = await withSlowInserts(env.db, 'decision_events', 0.8, async (sleeping) => {
        const creating = record(acme, { projectId: project, kind: 'decision', title: 'Late', ...(earlier ? { supersedes: earlier } : {}) });
        await sleeping();
        return Promise.all([creating, acme.owner.request('DELETE', `/v1/projects/${project}`)]);
      });
      expect(created.status, `supersede: ${supersede}: ${created.text}`).toBe(201);
      expect(deleted.status, `supersede: ${supersede}: ${deleted.text}`).toBe(204);
    }
  });

  it('are recorded with their actor, and superseding marks the earlier one superseded in the same transaction', async () => {
    const first = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Host in Frankfurt', rationale: 'latency', metadata: { ticket: 'OPS-1' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'active', supersedes: null, actor: { type: 'user' }, metadata: { ticket: 'OPS-1' } });
    const second = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Host in Falkenstein', supersedes: first.body.id });
    expect(second.status).toBe(201);
    expect((await acme.owner.request('GET', `/v1/decision-events/${first.body.id}`)).body.status).toBe('superseded');
    await expectLinkAudited(first.body.id, 'supersedes', second);

    const again = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Third', supersedes: first.body.id });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toBe('application/problem+json');
  });

  it('never link across organizations: another organization’s project or event answers 404 and nothing is written', async () => {
    const theirs = await record(globex, { projectId: globexProject, kind: 'learning', title: 'theirs' });
    const before = (await acme.owner.request('GET', '/v1/decision-events?limit=200')).body.data.length;
    expect((await record(acme, { projectId: globexProject, kind: 'decision', title: 'x' })).status).toBe(404);
    expect((await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', supersedes: theirs.body.id })).status).toBe(404);
    expect((await acme.owner.request('GET', '/v1/decision-events?limit=200')).body.data.length).toBe(before);
    expect((await globex.owner.request('GET', `/v1/decision-events/${theirs.body.id}`)).body.status).toBe('active');
  });

  it('list with filters, and archive changes only the status', async () => {
    const progress = await record(acme, { projectId: acmeProject, kind: 'progress', title: 'Half way' });
    const list = await acme.owner.request('GET', `/v1/decision-events?projectId=${acmeProject}&kind=progress`);
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([progress.body.id]);
    const archived = await acme.owner.request('POST', `/v1/decision-events/${progress.body.id}/archive`);
    expect(archived.body).toMatchObject({ status: 'archived', title: 'Half way' });
    expect((await acme.owner.request('GET', '/v1/decision-events?status=archived')).body.data).toHaveLength(1);

    // Archiving again, or archiving a superseded event, changes nothing and says why.
    const again = await acme.owner.request('POST', `/v1/decision-events/${progress.body.id}/archive`);
    const replaced = await record(acme, { projectId: acmeProject, kind: 'learning', title: 'First take' });
    await record(acme, { projectId: acmeProject, kind: 'learning', title: 'Second take', supersedes: replaced.body.id });
    const superseded = await acme.owner.request('POST', `/v1/decision-events/${replaced.body.id}/archive`);
    expect([again.status, superseded.status]).toEqual([409, 409]);
    expect((await acme.owner.request('GET', `/v1/decision-events/${replaced.body.id}`)).body.status).toBe('superseded');
    const archiveRows = (await acme.owner.request('GET', `/v1/audit-log?action=decision_event.archive&targetId=${progress.body.id}`)).body.data;
    expect(archiveRows).toHaveLength(1);
  });

  it('supersede only within their project, so deleting one project never takes another project’s events', async () => {
    const other = (await acme.owner.request('POST', '/v1/projects', { name: 'other' })).body.id;
    const inOther = await record(acme, { projectId: other, kind: 'decision', title: 'In the other project' });
    const across = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Correcting across', supersedes: inOther.body.id });
    expect(across.status).toBe(422);
    expect(across.body.detail).toMatch(/another project/);
    expect((await acme.owner.request('GET', `/v1/decision-events/${inOther.body.id}`)).body.status).toBe('active');
  });

  it('refuse bad input: unknown kind (400), oversized text and metadata (422), a number JSON cannot hold (422)', async () => {
    expect((await record(acme, { projectId: acmeProject, kind: 'rumour', title: 'x' })).status).toBe(400);
    const long = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x'.repeat(501) });
    expect(long.status).toBe(422);
    expect(long.body.errors).toEqual([{ path: 'json.title', message: expect.stringMatching(/500/) }]);
    // Too long and wrong as well: the fault to fix first is the wrong one.
    expect((await record(acme, { projectId: acmeProject, kind: 'rumour', title: 'x'.repeat(501) })).status).toBe(400);
    const before = (await acme.owner.request('GET', `/v1/decision-events?projectId=${acmeProject}&limit=100`)).body.data.length;
    const huge = await fetch(`${env.server.url}/v1/decision-events`, {
      method: 'POST',
      headers: acme.headers,
      body: `{"projectId":"${acmeProject}","kind":"decision","title":"huge","metadata":{"n":[1e400]}}`,
    });
    expect(huge.status).toBe(422);
    expect((await huge.json()).detail).toMatch(/too large to store/);
    expect((await acme.owner.request('GET', `/v1/decision-events?projectId=${acmeProject}&limit=100`)).body.data.length).toBe(before);
    expect((await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', metadata: { blob: 'y'.repeat(20_000) } })).status).toBe(422);
    // Nesting deep enough to break JSON.stringify, in a small body: 422, not 500.
    const nested = `{"projectId":"${acmeProject}","kind":"decision","title":"deep","metadata":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const tooDeep = await fetch(`${env.server.url}/v1/decision-events`, { method: 'POST', headers: acme.headers, body: nested });
    expect(tooDeep.status).toBe(422);
    expect((await tooDeep.json()).detail).toMatch(/levels of nesting/);
  });

  it('go with their project when it is deleted, and cannot be deleted by the request role otherwise', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'short-lived' })).body.id;
    const event = await record(acme, { projectId: project, kind: 'decision', title: 'temporary' });
    await expect(env.db.app.withTenant(acme.orgId, (tx) => tx.delete(decisionEvents).where(eq(decisionEvents.id, event.body.id)))).rejects.toThrow();
    expect((await acme.owner.request('DELETE', `/v1/projects/${project}`)).status).toBe(204);
    expect((await acme.owner.request('GET', `/v1/decision-events/${event.body.id}`)).status).toBe(404);
  });

  it('are not recorded in an archived project (409, nothing written or audited), and are again once it is unarchived', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Shelved' })).body.id as string;
    const standing = (await record(acme, { projectId: project, kind: 'decision', title: 'Standing' })).body.id as string;
    expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'archived' })).status).toBe(200);
    const archived = await footprint(acme, project);
    const byKey = (body: Record<string, unknown>) =>
      fetch(`${env.server.url}/v1/decision-events`, { method: 'POST', headers: acme.headers, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));
    for (const [what, send] of [
      ['plain', () => record(acme, { projectId: project, kind: 'decision', title: 'Late' })],
      ['by an API key', () => byKey({ projectId: project, kind: 'learning', title: 'Late' })],
      ['superseding', () => record(acme, { projectId: project, kind: 'decision', title: 'Late', supersedes: standing })],
      ['conflicting', () => record(acme, { projectId: project, kind: 'decision', title: 'Late', conflictsWith: standing })],
    ] as const) {
      const refused = await send();
      expect(refused.status, what).toBe(409);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body).toMatchObject({ type: 'urn:kommit:problem:project-archived', detail: expect.stringMatching(/is archived.*unarchive it first/) });
      expect(await footprint(acme, project), what).toEqual(archived);
    }
    // Reading stays open.
    const listed = await acme.owner.request('GET', `/v1/decision-events?projectId=${project}`);
    expect([listed.status, listed.body.data.map((e: { id: string; status: string }) => [e.id, e.status])]).toEqual([200, [[standing, 'active']]]);
    expect((await acme.owner.request('GET', `/v1/decision-events/${standing}`)).status).toBe(200);

    expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status: 'active' })).status).toBe(200);
    const corrected = await record(acme, { projectId: project, kind: 'decision', title: 'Corrected', supersedes: standing });
    expect(corrected.status).toBe(201);
    expect((await footprint(acme, project)).auditRows).toBeGreaterThan(archived.auditRows);
  });

  it('are refused once an archive that committed while they waited for the project has made it archived', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Archived meanwhile' })).body.id as string;
    const before = await footprint(acme, project);
    let pending!: ReturnType<typeof record>;
    // The archive's UPDATE, held open by another connection: it changes only
    // the status, a column no key covers, so a key-share lock would not wait for it.
    await env.db.admin.withTenant(acme.orgId, async (tx) => {
      await tx.execute(sql`update projects set status = 'archived', updated_at = now() where id = ${project}`);
      pending = record(acme, { projectId: project, kind: 'decision', title: 'Racing the archive' });
      await someoneWaitsForALock(env.db);
      expect(await settledWithin(pending)).toBe('waiting');
    });
    const refused = await pending;
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.type).toBe('urn:kommit:problem:project-archived');
    expect(await footprint(acme, project)).toEqual(before);
  });

  it('filtered by a project or workflow run of another organization, or none, answer 404 exactly like a missing one', async () => {
    const steps = [{ name: 'Look', kind: 'review', requiredRole: 'member' }];
    const runOf = async (tenant: TestTenant, project: string) => {
      const workflow = (await tenant.owner.request('POST', `/v1/projects/${project}/workflows`, { name: 'w', steps })).body.id;
      await tenant.owner.request('PATCH', `/v1/workflows/${workflow}`, { status: 'active' });
      const run = (await tenant.owner.request('POST', `/v1/workflows/${workflow}/runs`)).body.id as string;
      expect((await tenant.owner.request('POST', `/v1/workflows/${workflow}/runs/${run}/complete`, { step: 0 })).status).toBe(200);
      return run;
    };
    const [ourRun, theirRun] = [await runOf(acme, acmeProject), await runOf(globex, globexProject)];
    for (const [filter, ours, theirs] of [
      ['projectId', acmeProject, globexProject],
      ['workflowRunId', ourRun, theirRun],
    ] as const) {
      const own = await acme.owner.request('GET', `/v1/decision-events?${filter}=${ours}`);
      expect(own.status, filter).toBe(200);
      expect(own.body.data.length, filter).toBeGreaterThan(0);
      // The other organization sees its own through the same filter.
      expect((await globex.owner.request('GET', `/v1/decision-events?${filter}=${theirs}`)).body.data.length, filter).toBeGreaterThan(0);
      const other = await acme.owner.request('GET', `/v1/decision-events?${filter}=${theirs}`);
      const absent = await acme.owner.request('GET', `/v1/decision-events?${filter}=${crypto.randomUUID()}`);
      expect([other.status, absent.status], filter).toEqual([404, 404]);
      expect(other.headers.get('content-type')).toBe('application/problem+json');
      expect(withoutInstance(other.body), filter).toEqual(withoutInstance(absent.body));
      expect(other.body.detail).toBe(`No ${filter === 'projectId' ? 'project' : 'workflow run'} with the id given in ${filter}.`);
      expect(JSON.stringify(other.body)).not.toContain(theirs);
    }
    // One filter of the organization's own does not let another organization's through.
    expect((await acme.owner.request('GET', `/v1/decision-events?projectId=${acmeProject}&workflowRunId=${theirRun}`)).status).toBe(404);
  });

  it('contradicting an earlier one (conflictsWith) are recorded conflicting and mark it conflicting, each change audited, until superseded', async () => {
    const monday = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Ship on Monday' });
    const friday = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Ship on Friday', conflictsWith: monday.body.id });
    expect(friday.status, friday.text).toBe(201);
    expect(friday.body).toMatchObject({ status: 'conflicting', conflictsWith: monday.body.id, supersedes: null });
    expect((await acme.owner.request('GET', `/v1/decision-events/${monday.body.id}`)).body).toMatchObject({ status: 'conflicting', conflictsWith: null });
    expect((await acme.owner.request('GET', `/v1/decision-events/${friday.body.id}`)).body).toEqual(friday.body);
    const listed = await acme.owner.request('GET', `/v1/decision-events?projectId=${acmeProject}&status=conflicting`);
    expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual([friday.body.id, monday.body.id]);

    await expectLinkAudited(monday.body.id, 'conflictsWith', friday);

    // A third view may contradict one already in conflict; it stays conflicting.
    const sunday = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Ship on Sunday', conflictsWith: friday.body.id });
    expect(sunday.status).toBe(201);
    expect((await acme.owner.request('GET', `/v1/decision-events/${friday.body.id}`)).body.status).toBe('conflicting');
    expect((await auditRowsOf(acme, [friday.body.id])).at(-1)).toMatchObject({ action: 'decision_event.conflict', data: { before: { status: 'conflicting' } } });

    // Superseding an event in conflict resolves it: it becomes superseded, the new one active.
    const resolved = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Ship on Monday after all', supersedes: friday.body.id });
    expect(resolved.status).toBe(201);
    expect(resolved.body).toMatchObject({ status: 'active', supersedes: friday.body.id, conflictsWith: null });
    expect((await acme.owner.request('GET', `/v1/decision-events/${friday.body.id}`)).body.status).toBe('superseded');
    // An event in conflict can be archived, too.
    expect((await acme.owner.request('POST', `/v1/decision-events/${sunday.body.id}/archive`)).body.status).toBe('archived');

    // A superseded or archived event is not contradicted any more (as it is not superseded): 409, nothing written.
    const before = await footprint(acme, acmeProject);
    for (const [earlier, status] of [[friday.body.id, 'superseded'], [sunday.body.id, 'archived']]) {
      const refused = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Too late', conflictsWith: earlier });
      expect(refused.status, status).toBe(409);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body.detail).toBe(`The event to conflict with is ${status}; only an active or conflicting event can be in conflict.`);
    }
    expect(await footprint(acme, acmeProject)).toEqual(before);
    expect((await acme.owner.request('GET', '/v1/audit-log/verify')).body.ok).toBe(true);

    // The project's deletion takes the events in conflict with it.
    const doomed = (await acme.owner.request('POST', '/v1/projects', { name: 'doomed' })).body.id;
    const first = (await record(acme, { projectId: doomed, kind: 'decision', title: 'One' })).body.id;
    expect((await record(acme, { projectId: doomed, kind: 'decision', title: 'Other', conflictsWith: first })).status).toBe(201);
    expect((await acme.owner.request('DELETE', `/v1/projects/${doomed}`)).status).toBe(204);
    expect((await acme.owner.request('GET', `/v1/decision-events/${first}`)).status).toBe(404);
  });

  it('conflict only with an event of their own organization and project, and never supersede and conflict at once', async () => {
    const mine = (await record(acme, { projectId: acmeProject, kind: 'decision', title: 'Mine' })).body.id as string;
    const theirs = (await record(globex, { projectId: globexProject, kind: 'decision', title: 'Theirs' })).body.id as string;
    const other = (await acme.owner.request('POST', '/v1/projects', { name: 'elsewhere' })).body.id as string;
    const inOther = (await record(acme, { projectId: other, kind: 'decision', title: 'In the other project' })).body.id as string;
    const before = await footprint(acme, acmeProject);

    const both = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', supersedes: mine, conflictsWith: mine });
    expect(both.status).toBe(400);
    expect(both.headers.get('content-type')).toBe('application/problem+json');
    expect(both.body.errors).toEqual([{ path: 'json.conflictsWith', message: expect.stringMatching(/supersedes.*conflictsWith.*not both/) }]);

    const foreign = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', conflictsWith: theirs });
    const unknown = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', conflictsWith: crypto.randomUUID() });
    expect([foreign.status, unknown.status]).toEqual([404, 404]);
    expect(withoutInstance(foreign.body)).toEqual(withoutInstance(unknown.body));
    expect(foreign.body.detail).toBe('No decision event with the id given in conflictsWith.');

    const across = await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', conflictsWith: inOther });
    expect(across.status).toBe(422);
    expect(across.body.detail).toMatch(/another project/);

    expect((await record(acme, { projectId: acmeProject, kind: 'decision', title: 'x', conflictsWith: 'not-a-uuid' })).body.errors).toEqual([
      { path: 'json.conflictsWith', message: expect.any(String) },
    ]);
    expect(await footprint(acme, acmeProject)).toEqual(before);
    expect((await acme.owner.request('GET', `/v1/decision-events/${inOther}`)).body.status).toBe('active');
    expect((await globex.owner.request('GET', `/v1/decision-events/${theirs}`)).body.status).toBe('active');
  });
});

/** The project's events with their status, and the organization's audit row count, read past the API (as the schema owner, inside the organization). */
async function footprint(tenant: TestTenant, project: string) {
  const [row] = await env.db.admin.withTenant(tenant.orgId, (tx) =>
    tx.execute<{ events: string | null; auditRows: number }>(sql`
      select (select string_agg(id || ':' || status, ',' order by id) from decision_events where project_id = ${project}) as events,
             (select count(*)::int from audit_log) as "auditRows"`),
  );
  return row!;
}

/** What a new event linked to an earlier one records, and what it does to the earlier one. */
const LINKS = {
  supersedes: { createdAs: 'active', action: 'decision_event.supersede', earlierBecomes: 'superseded', namedAs: 'supersededBy' },
  conflictsWith: { createdAs: 'conflicting', action: 'decision_event.conflict', earlierBecomes: 'conflicting', namedAs: 'conflictingEvent' },
} as const;

/**
 * The two audit rows `later` (recorded with `field` naming the active event
 * `earlier`) left after the earlier one's creation, in its request's
 * transaction: the new event, and the earlier one's change.
 */
async function expectLinkAudited(earlier: string, field: keyof typeof LINKS, later: { body: { id: string }; headers: Headers }) {
  const link = LINKS[field];
  const requestId = later.headers.get('x-request-id');
  expect((await auditRowsOf(acme, [earlier, later.body.id])).slice(1)).toEqual([
    { action: 'decision_event.create', target_id: later.body.id, request_id: requestId, data: { after: expect.objectContaining({ status: link.createdAs, [field]: earlier }) } },
    { action: link.action, target_id: earlier, request_id: requestId, data: { before: { status: 'active' }, after: { status: link.earlierBecomes }, [link.namedAs]: later.body.id } },
  ]);
}

/** The audit rows naming these events, oldest first. */
async function auditRowsOf(tenant: TestTenant, ids: string[]) {
  return env.db.admin.withTenant(tenant.orgId, (tx) =>
    tx.execute<{ action: string; target_id: string; request_id: string; data: unknown }>(
      sql`select action, target_id, request_id, data from audit_log where target_id in ${ids} order by seq`,
    ),
  );
}
