import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type TestTenant } from '../../../test/tenants.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../../test/user-agent.ts';

const env = useTestServer();
let acme: TestTenant;
let globex: TestTenant;

beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
});

interface Project {
  id: string;
  name: string;
  description: string | null;
  status: string;
  createdAt: string;
  updatedAt: string;
}

async function call(tenant: TestTenant, method: string, path: string, body?: unknown) {
  const response = await fetch(env.server.url + path, {
    method,
    headers: tenant.headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

describe('projects', () => {
  it('creates, reads, updates and deletes a project', async () => {
    const created = await call(acme, 'POST', '/v1/projects', { name: '  Loan approvals ', description: 'Risk team' });
    expect(created.status).toBe(201);
    const project = created.body as Project;
    expect(project).toMatchObject({ name: 'Loan approvals', description: 'Risk team', status: 'active' });
    expect(project).not.toHaveProperty('orgId');
    // RFC 3339 in UTC, to the microsecond Postgres keeps (the same instant the row holds).
    expect(project.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
    expect(Number.isNaN(Date.parse(project.createdAt))).toBe(false);
    const [stored] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ micros: string }>(sql`select (extract(epoch from created_at) * 1000000)::int8::text as micros from projects where id = ${project.id}`),
    );
    const [whole, fraction = ''] = project.createdAt.slice(0, -1).split('.');
    expect(BigInt(Date.parse(`${whole}Z`)) * 1000n + BigInt(fraction.padEnd(6, '0'))).toBe(BigInt(stored!.micros));

    expect((await call(acme, 'GET', `/v1/projects/${project.id}`)).body).toEqual(project);

    const archived = await call(acme, 'PATCH', `/v1/projects/${project.id}`, { status: 'archived', description: null });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: project.id, status: 'archived', description: null, name: 'Loan approvals' });
    expect(archived.body.updatedAt > project.updatedAt).toBe(true);

    expect((await acme.owner.request('DELETE', `/v1/projects/${project.id}`)).status).toBe(204);
    expect((await call(acme, 'GET', `/v1/projects/${project.id}`)).status).toBe(404);
    expect((await acme.owner.request('DELETE', `/v1/projects/${project.id}`)).status).toBe(404);
  });

  it('is deleted, with everything under it, only by a signed-in owner or admin, and the audit row says what went with it', async () => {
    const project = (await call(acme, 'POST', '/v1/projects', { name: 'cascading' })).body.id as string;
    const workflow = await call(acme, 'POST', `/v1/projects/${project}/workflows`, { name: 'w', steps: [{ name: 's', kind: 'review', requiredRole: 'member' }] });
    expect(workflow.status).toBe(201);
    expect((await acme.owner.request('PATCH', `/v1/workflows/${workflow.body.id}`, { status: 'active' })).status).toBe(200);
    expect((await call(acme, 'POST', `/v1/workflows/${workflow.body.id}/runs`, {})).status).toBe(201);
    for (const title of ['one', 'two']) expect((await call(acme, 'POST', '/v1/decision-events', { projectId: project, kind: 'decision', title })).status).toBe(201);
    expect((await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId: project, target: 'raw_event' })).status).toBe(201);

    // An API key or a plain member may archive it, not delete it.
    const member = new UserAgent(env.server);
    const email = uniqueEmail('member');
    await member.signUp(email);
    const invitation = await acme.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: acme.orgId });
    expect((await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invitation.body.id })).status).toBe(200);
    expect((await member.request('POST', '/api/auth/organization/set-active', { organizationId: acme.orgId })).status).toBe(200);
    const byKey = await call(acme, 'DELETE', `/v1/projects/${project}`);
    const byMember = await member.request('DELETE', `/v1/projects/${project}`);
    expect([byKey.status, byKey.type, byMember.status, byMember.headers.get('content-type')]).toEqual([403, 'application/problem+json', 403, 'application/problem+json']);
    expect((await call(acme, 'GET', `/v1/projects/${project}`)).status).toBe(200);
    // Another organization's owner finds nothing to delete.
    expect((await globex.owner.request('DELETE', `/v1/projects/${project}`)).status).toBe(404);

    expect((await acme.owner.request('DELETE', `/v1/projects/${project}`)).status).toBe(204);
    // Gone: a filter naming it answers as its path does.
    expect((await call(acme, 'GET', `/v1/decision-events?projectId=${project}`)).status).toBe(404);
    // Nothing that belonged to it is left, read past the API (as the schema owner, inside the organization).
    const [left] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<Record<string, number>>(sql`
        select (select count(*)::int from workflows where project_id = ${project}) as workflows,
               (select count(*)::int from workflow_runs where workflow_id = ${workflow.body.id}) as "workflowRuns",
               (select count(*)::int from decision_events where project_id = ${project}) as "decisionEvents",
               (select count(*)::int from webhook_endpoints where project_id = ${project}) as "webhookEndpoints"`),
    );
    expect(left).toEqual({ workflows: 0, workflowRuns: 0, decisionEvents: 0, webhookEndpoints: 0 });
    const [row] = (await call(acme, 'GET', `/v1/audit-log?action=project.delete&targetId=${project}`)).body.data;
    expect(row.data.cascaded).toEqual({ workflows: 1, workflowRuns: 1, decisionEvents: 2, webhookEndpoints: 1 });
  });

  it('lists newest first with cursor pagination and a status filter, and only the own organization', async () => {
    const names = ['p1', 'p2', 'p3', 'p4', 'p5'];
    const ids: string[] = [];
    for (const name of names) ids.push((await call(acme, 'POST', '/v1/projects', { name: `list-${name}` })).body.id);
    await call(globex, 'POST', '/v1/projects', { name: 'globex-only' });
    await call(acme, 'PATCH', `/v1/projects/${ids[0]}`, { status: 'archived' });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await call(acme, 'GET', `/v1/projects?limit=2${query}`);
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((p: Project) => p.name));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.filter((n) => n.startsWith('list-'))).toEqual(['list-p5', 'list-p4', 'list-p3', 'list-p2', 'list-p1']);

    // A cursor issued before timestamps were given as RFC 3339 still pages on.
    const [first, second] = (await call(acme, 'GET', '/v1/projects?limit=2')).body.data as Project[];
    const legacyCursor = Buffer.from(JSON.stringify([first!.createdAt.replace('T', ' ').replace('Z', '+00'), first!.id])).toString('base64url');
    const afterLegacy = await call(acme, 'GET', `/v1/projects?limit=1&cursor=${legacyCursor}`);
    expect(afterLegacy.status).toBe(200);
    expect(afterLegacy.body.data.map((p: Project) => p.id)).toEqual([second!.id]);
    expect(seen).not.toContain('globex-only');
    expect(new Set(seen).size).toBe(seen.length);

    const archived = await call(acme, 'GET', '/v1/projects?status=archived');
    expect(archived.body.data.map((p: Project) => p.name)).toEqual(['list-p1']);

    const globexList = await call(globex, 'GET', '/v1/projects');
    expect(globexList.body.data.map((p: Project) => p.name)).toEqual(['globex-only']);
  });

  it('answers invalid input with 400 problem+json naming the fields (422 when only too long), and stores nothing', async () => {
    const before = (await call(acme, 'GET', '/v1/projects?limit=200')).body.data.length;
    const cases: [string, string, unknown, string, number?][] = [
      ['POST', '/v1/projects', { name: '' }, 'json.name'],
      ['POST', '/v1/projects', { name: 42 }, 'json.name'],
      ['POST', '/v1/projects', { name: 'x'.repeat(201) }, 'json.name', 422],
      ['POST', '/v1/projects', { name: 'ok', description: 'x'.repeat(10_001) }, 'json.description', 422],
      ['POST', '/v1/projects', { name: 'ok', description: 7 }, 'json.description'],
      ['GET', '/v1/projects?limit=0', undefined, 'query.limit'],
      ['GET', '/v1/projects?limit=abc', undefined, 'query.limit'],
      ['GET', '/v1/projects?status=deleted', undefined, 'query.status'],
      ['GET', '/v1/projects?cursor=bm90LWEtY3Vyc29y', undefined, 'query.cursor'],
      ['GET', '/v1/projects/not-a-uuid', undefined, 'param.id'],
      ['PATCH', `/v1/projects/${crypto.randomUUID()}`, {}, 'json'],
      ['PATCH', `/v1/projects/${crypto.randomUUID()}`, { status: 'gone' }, 'json.status'],
    ];
    for (const [method, path, body, field, status = 400] of cases) {
      const response = await call(acme, method, path, body);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(response.type).toBe('application/problem+json');
      expect(response.body.errors.map((e: { path: string }) => e.path).join(' '), `${method} ${path}`).toContain(field);
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    const malformed = await call(acme, 'POST', '/v1/projects', '{"name": ');
    expect(malformed.status).toBe(400);
    expect(malformed.type).toBe('application/problem+json');
    expect((await call(acme, 'GET', '/v1/projects?limit=200')).body.data.length).toBe(before);
  });

  it('answers values Postgres cannot store (a NUL character) with 400, not 500', async () => {
    const response = await call(acme, 'POST', '/v1/projects', { name: 'nul \u0000 inside' });
    expect(response.status).toBe(400);
    expect(response.type).toBe('application/problem+json');
    const forgedCursor = Buffer.from(JSON.stringify(['2026-99-99 99:99:99+00', crypto.randomUUID()])).toString('base64url');
    expect((await call(acme, 'GET', `/v1/projects?cursor=${forgedCursor}`)).status).toBe(400);
  });

  it('stores a lone surrogate as U+FFFD, with its audit row, instead of failing with 500', async () => {
    const created = await call(acme, 'POST', '/v1/projects', { name: 'half \ud800 pair' });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('half \ufffd pair');
    const updated = await call(acme, 'PATCH', `/v1/projects/${created.body.id}`, { description: 'tail \udc00' });
    expect(updated.status).toBe(200);
    const audit = (await call(acme, 'GET', `/v1/audit-log?targetId=${created.body.id}`)).body.data;
    expect(audit.map((r: { action: string }) => r.action)).toEqual(['project.update', 'project.create']);
    expect((await call(acme, 'GET', '/v1/audit-log/verify')).body.ok).toBe(true);
  });

  it('refuses a body over the size limit with 413', async () => {
    const response = await call(acme, 'POST', '/v1/projects', { name: 'big', description: 'x'.repeat(100 * 1024) });
    expect(response.status).toBe(413);
    expect(response.type).toBe('application/problem+json');
  });

  it('refuses a body over the size limit sent without a length (chunked), and takes a small one', async () => {
    const chunked = (text: string) =>
      fetch(`${env.server.url}/v1/projects`, {
        method: 'POST',
        headers: acme.headers,
        body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(text)), c.close()) }),
        duplex: 'half',
      } as RequestInit);
    const big = await chunked(JSON.stringify({ name: 'big', description: 'x'.repeat(100 * 1024) }));
    expect(big.status).toBe(413);
    const small = await chunked(JSON.stringify({ name: 'sent in chunks' }));
    expect(small.status).toBe(201);
    expect(((await small.json()) as Project).name).toBe('sent in chunks');
  });
});
