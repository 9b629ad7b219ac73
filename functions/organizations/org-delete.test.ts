import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteOrganizationData, tenantTablesChildrenFirst } from '../../db/org-deletion.ts';
import type { TestDatabase } from '../../test/database.ts';
import { postgresError } from '../../test/expect.ts';
import { runJobs } from '../../test/jobs.ts';
import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import { createTenant, holdKeyTransaction, settledWithin, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { uniqueEmail, UserAgent } from '../../test/user-agent.ts';
import organizations from './index.ts';

// Checkpoints every few appends, so the checkpoint table fills too.
const env = useTestServer({ checkpointEvery: 3 });

async function slugOf(db: TestDatabase, orgId: string) {
  const [row] = await db.admin.withTenant(orgId, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations where id = ${orgId}`));
  return row!.slug;
}

/** Every tenant table (from the catalog) with this organization's row count. */
async function countsOf(db: TestDatabase, orgId: string) {
  const counts: Record<string, number> = {};
  for (const table of await tenantTablesChildrenFirst(db.admin)) {
    const [row] = await db.admin.withTenant(orgId, (tx) =>
      tx.execute<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(table.name)} where org_id = ${orgId}`),
    );
    counts[table.name] = row!.n;
  }
  // Tables that point at organizations without being tenant tables (sessions' active organization).
  const referencing = await db.admin.sql<{ table: string; column: string }[]>`
    select f.conrelid::regclass::text as table, a.attname as column
    from pg_constraint f join pg_attribute a on a.attrelid = f.conrelid and a.attnum = f.conkey[1]
    where f.contype = 'f' and f.confrelid = 'organizations'::regclass and a.attname <> 'org_id'`;
  for (const { table, column } of referencing) {
    const [row] = await db.admin.sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table} where ${column} = $1`, [orgId]);
    counts[`${table}.${column}`] = row!.n;
  }
  return counts;
}

interface Filled {
  tenant: TestTenant;
  slug: string;
  member: UserAgent;
  widgetKey: string;
  hook: { id: string; secret: string };
}

/** A visitor starting a conversation on the organization's widget. */
const startConversation = (widgetKey: string) =>
  fetch(`${env.server.url}/widget/v1/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'https://fill.test' },
    body: JSON.stringify({ key: widgetKey }),
  });

/** A customer system posting a signed delivery to the organization's endpoint. */
function deliver(hook: Filled['hook'], id: string) {
  const at = new Date();
  return fetch(`${env.server.url}/hooks/${hook.id}`, {
    method: 'POST',
    headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(hook.secret).sign(id, at, '{}') },
    body: '{}',
  });
}

/** Puts rows in every tenant table for one organization, through the HTTP API and the worker. */
async function fill(tenant: TestTenant): Promise<Filled> {
  const owner = tenant.owner;
  const projectId = (await owner.request('POST', '/v1/projects', { name: 'Everything' })).body.id;
  const workflowId = (await owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'Review', steps: [{ name: 'Look', kind: 'review', requiredRole: 'member' }] })).body.id;
  await owner.request('PATCH', `/v1/workflows/${workflowId}`, { status: 'active' });
  const runId = (await owner.request('POST', `/v1/workflows/${workflowId}/runs`)).body.id;
  expect((await owner.request('POST', `/v1/workflows/${workflowId}/runs/${runId}/complete`, { step: 0, rationale: 'fine' })).status).toBe(200);
  const first = (await owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Use Postgres' })).body.id;
  await owner.request('POST', '/v1/decision-events', { projectId, kind: 'decision', title: 'Use Postgres 18', supersedes: first });
  await owner.request('POST', '/v1/support-transcripts', { channel: 'chat', messages: [{ role: 'visitor', content: 'Where is my invoice?' }] });
  await owner.request('POST', '/v1/api-keys', { name: 'ci' });
  const member = new UserAgent(env.server);
  const email = uniqueEmail('member');
  await member.signUp(email);
  const invitation = await owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: tenant.orgId });
  await member.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invitation.body.id });
  await member.request('POST', '/v1/session/active-organization', { organizationId: tenant.orgId });
  await owner.request('POST', '/api/auth/organization/invite-member', { email: uniqueEmail('pending'), role: 'member', organizationId: tenant.orgId });
  const hook = (await owner.request('POST', '/v1/webhook-endpoints', { name: 'CRM', projectId, target: 'raw_event' })).body;
  expect((await deliver(hook, 'fill')).status).toBe(202);
  // The helpdesk and the widget: an article (indexed by the worker), the widget's configuration, and a widget conversation.
  expect((await owner.request('POST', '/v1/helpdesk/articles', { title: 'Invoices', body: 'Invoices are sent monthly.', published: true })).status).toBe(201);
  const widget = (await owner.request('PUT', '/v1/widget', { allowedOrigins: ['https://fill.test'] })).body;
  expect((await startConversation(widget.publicKey)).status).toBe(201);
  // Controls: an adopted framework, its controls, and an evidence snapshot.
  const adopted = await owner.request('POST', '/v1/controls/frameworks', { framework: 'soc2', version: '2017-tsc-rev2022' });
  expect(adopted.status).toBe(201);
  const mapped = adopted.body.controls.find((c: { evidence: unknown[] }) => c.evidence.length > 0);
  expect((await owner.request('POST', `/v1/controls/${mapped.id}/collect`)).status).toBe(201);
  await runJobs(env.db);
  return { tenant, slug: await slugOf(env.db, tenant.orgId), member, widgetKey: widget.publicKey, hook: { id: hook.id, secret: hook.secret } };
}

describe('DELETE /v1/organizations/{id}', () => {
  let acme: Filled;
  let globex: Filled;
  beforeAll(async () => {
    acme = await fill(await createTenant(env.db, env.server, 'Acme'));
    globex = await fill(await createTenant(env.db, env.server, 'Globex'));
  });

  it('has rows of both organizations in every tenant table before (a new table must be filled here too)', async () => {
    for (const filled of [acme, globex]) {
      const counts = await countsOf(env.db, filled.tenant.orgId);
      for (const [table, n] of Object.entries(counts)) expect(n, `${table} has no rows for ${filled.slug}`).toBeGreaterThan(0);
    }
  });

  it('refuses, changing nothing: API keys, members, a wrong slug, a stale session without password, a wrong password, another organization', async () => {
    const before = await countsOf(env.db, acme.tenant.orgId);
    const path = `/v1/organizations/${acme.tenant.orgId}`;
    const viaKey = await fetch(`${env.server.url}${path}`, { method: 'DELETE', headers: acme.tenant.headers, body: JSON.stringify({ confirm: acme.slug }) });
    expect(viaKey.status).toBe(403);
    expect((await acme.member.request('DELETE', path, { confirm: acme.slug })).status).toBe(403);
    const wrongSlug = await acme.tenant.owner.request('DELETE', path, { confirm: `${acme.slug}x` });
    expect(wrongSlug.status).toBe(422);
    expect(wrongSlug.headers.get('content-type')).toBe('application/problem+json');
    expect((await acme.tenant.owner.request('DELETE', path, {})).status).toBe(400);
    // Sessions older than the fresh window need the password.
    await env.db.identity.sql`update sessions set created_at = now() - interval '1 hour'`;
    const stale = await acme.tenant.owner.request('DELETE', path, { confirm: acme.slug });
    expect(stale.status).toBe(403);
    expect(stale.body.type).toContain('reauthentication');
    expect((await acme.tenant.owner.request('DELETE', path, { confirm: acme.slug, password: 'not it' })).status).toBe(403);
    expect((await acme.tenant.owner.request('DELETE', `/v1/organizations/${globex.tenant.orgId}`, { confirm: globex.slug, password: 'correct horse battery' })).status).toBe(404);
    // Better Auth's own delete endpoint is switched off.
    expect((await acme.tenant.owner.request('POST', '/api/auth/organization/delete', { organizationId: acme.tenant.orgId })).status).toBeGreaterThanOrEqual(400);
    expect(await countsOf(env.db, acme.tenant.orgId)).toEqual(before);
  });

  it('makes the organization unreachable at once, then removes every row of it and nothing of anyone else', async () => {
    const globexBefore = await countsOf(env.db, globex.tenant.orgId);
    const acmeBefore = await countsOf(env.db, acme.tenant.orgId);
    const response = await acme.tenant.owner.request('DELETE', `/v1/organizations/${acme.tenant.orgId}`, { confirm: acme.slug, password: 'correct horse battery' });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: expect.any(String), organizationId: acme.tenant.orgId, status: 'deleting' });

    // Unreachable before the worker has run: sessions lost it, keys are gone.
    expect((await acme.tenant.owner.request('GET', '/v1/projects')).status).toBe(403);
    expect((await acme.member.request('GET', '/v1/projects')).status).toBe(403);
    // Switching back in answers like any organization one is not a member of.
    expect((await acme.member.request('POST', '/v1/session/active-organization', { organizationId: acme.tenant.orgId })).status).toBe(404);
    expect((await fetch(`${env.server.url}/v1/projects`, { headers: acme.tenant.headers })).status).toBe(401);
    // Its widget and webhook endpoint answer as unknown ones do, and store nothing.
    const visitor = await startConversation(acme.widgetKey);
    const delivery = await deliver(acme.hook, 'after-deletion');
    expect([visitor.status, delivery.status]).toEqual([404, 404]);
    // The worker's relays pass it by (no collecting, no processing), and not the other one.
    const both = [acme.tenant.orgId, globex.tenant.orgId];
    const waiting = async () => {
      const due = await env.db.admin.sql<{ id: string }[]>`select id from kommit_orgs_with_due_controls() as id`;
      const deliveries = await env.db.admin.sql<{ id: string }[]>`select id from kommit_orgs_with_waiting_deliveries() as id`;
      return { due: due.map((r) => r.id).filter((id) => both.includes(id)), deliveries: deliveries.map((r) => r.id).filter((id) => both.includes(id)) };
    };
    const makeWork = (due: string, status: string) =>
      Promise.all(both.map((orgId) => env.db.admin.withTenant(orgId, async (tx) => {
        await tx.execute(sql`update controls set next_collection_at = now() + ${due}::interval where next_collection_at is not null`);
        await tx.execute(sql`update webhook_deliveries set status = ${status}`);
      })));
    const [delivered] = await env.db.admin.withTenant(globex.tenant.orgId, (tx) => tx.execute<{ status: string }>(sql`select status from webhook_deliveries limit 1`));
    await makeWork('-1 minute', 'received');
    expect(await waiting()).toEqual({ due: [globex.tenant.orgId], deliveries: [globex.tenant.orgId] });
    await makeWork('1 day', delivered!.status);

    // A job of each organization that failed for good, as one does when a remote embedder is down.
    const failedJobs = async () =>
      (await env.db.admin.sql<{ org: string }[]>`select j.payload->>'orgId' as org from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id where t.identifier = 'search.index' and j.attempts >= j.max_attempts`)
        .map((r) => r.org)
        .filter((org) => both.includes(org));
    for (const orgId of both) {
      const [job] = await env.db.admin.sql<{ id: string }[]>`
        select (graphile_worker.add_job('search.index', json_build_object('orgId', ${orgId}::uuid, 'type', 'project', 'id', gen_random_uuid()), max_attempts => 1)).id`;
      await env.db.admin.sql`update graphile_worker._private_jobs set attempts = max_attempts where id = ${job!.id}`;
    }
    expect((await failedJobs()).sort()).toEqual([...both].sort());

    await runJobs(env.db);
    // Nothing of the deleted organization is left in the queue; the other one's failed job is still there to see.
    expect(await failedJobs()).toEqual([globex.tenant.orgId]);
    await env.db.admin.sql`delete from graphile_worker._private_jobs where payload->>'orgId' = ${globex.tenant.orgId} and attempts >= max_attempts`;
    const after = await countsOf(env.db, acme.tenant.orgId);
    for (const [table, n] of Object.entries(after)) expect(n, table).toBe(0);
    const [org] = await env.db.admin.withTenant(acme.tenant.orgId, (tx) => tx.execute(sql`select count(*)::int as n from organizations`));
    expect(org).toEqual({ n: 0 });
    expect(await countsOf(env.db, globex.tenant.orgId)).toEqual(globexBefore);
    expect((await globex.tenant.owner.request('GET', '/v1/audit-log/verify')).body.ok).toBe(true);
    // The other organization's widget and endpoint still take visitors.
    expect((await startConversation(globex.widgetKey)).status).toBe(201);
    expect((await deliver(globex.hook, 'globex-still')).status).toBe(202);

    // What is left: a platform record without tenant content.
    const records = await env.db.admin.sql`select * from organization_deletions where deleted_organization_id = ${acme.tenant.orgId}`;
    expect(records).toHaveLength(1);
    expect(Object.keys(records[0]!).sort()).toEqual(['completed_at', 'deleted_organization_id', 'id', 'requested_at', 'requested_by', 'rows_deleted']);
    expect(records[0]!.id).toBe(response.body.id);
    // The worker counted every row but those the first transaction removed (and sessions, which are not its).
    const removedAtOnce = ['members', 'invitations', 'api_keys'];
    const byWorker = Object.entries(acmeBefore).filter(([t]) => !removedAtOnce.includes(t) && !t.includes('.')).reduce((sum, [, n]) => sum + n, 0);
    expect(Number(records[0]!.rows_deleted)).toBe(byWorker);
    expect(records[0]!.completed_at).not.toBeNull();
  });

  it('accepts an owner whose stored role is a list naming owner, as every other check reads it', async () => {
    const tenant = await createTenant(env.db, env.server, 'Listed roles');
    const ownerId = (await tenant.owner.request('GET', '/v1/session')).body.user.id as string;
    await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute(sql`update members set role = 'member, owner' where user_id = ${ownerId}`));
    const response = await tenant.owner.request('DELETE', `/v1/organizations/${tenant.orgId}`, { confirm: await slugOf(env.db, tenant.orgId) });
    expect(response.status).toBe(202);
    await runJobs(env.db);
  });

  it('accepts a fresh session without the password', async () => {
    const tenant = await createTenant(env.db, env.server, 'Fresh');
    const response = await tenant.owner.request('DELETE', `/v1/organizations/${tenant.orgId}`, { confirm: await slugOf(env.db, tenant.orgId) });
    expect(response.status).toBe(202);
    await runJobs(env.db);
    expect(Object.values(await countsOf(env.db, tenant.orgId)).every((n) => n === 0)).toBe(true);
  });

  it('waits for requests in flight with one of its API keys, and lets no request with them in after', async () => {
    const tenant = await createTenant(env.db, env.server, 'Keys in flight');
    const inFlight = await holdKeyTransaction(env.db, tenant.key);
    const deletion = tenant.owner.request('DELETE', `/v1/organizations/${tenant.orgId}`, { confirm: await slugOf(env.db, tenant.orgId) });
    expect(await settledWithin(deletion)).toBe('waiting');
    await inFlight.release();
    expect((await deletion).status).toBe(202);
    expect((await fetch(`${env.server.url}/v1/projects`, { headers: tenant.headers })).status).toBe(401);
    await runJobs(env.db);
  });

  it('answers a second deletion sent at the same time with 409, never a deadlock or a 500', async () => {
    // Both requests share-lock the owner's membership on entering the tenant;
    // the first to begin would then wait to delete it while the other waited
    // on the first: Postgres broke the cycle with 40P01, a 500.
    const seen = new Set<number>();
    for (let round = 0; round < 4; round++) {
      const tenant = await createTenant(env.db, env.server, `Twice ${round}`);
      const path = `/v1/organizations/${tenant.orgId}`;
      const confirm = await slugOf(env.db, tenant.orgId);
      const responses = await Promise.all([tenant.owner.request('DELETE', path, { confirm }), tenant.owner.request('DELETE', path, { confirm })]);
      const statuses = responses.map((r) => r.status).sort();
      // 403: the second came after the first had committed (the session lost the organization).
      expect(statuses, JSON.stringify(responses.map((r) => r.body))).toSatisfy((s: number[]) => s[0] === 202 && (s[1] === 409 || s[1] === 403));
      const refused = responses.find((r) => r.status !== 202)!;
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      seen.add(refused.status);
      expect(await env.db.admin.sql`select id from organization_deletions where deleted_organization_id = ${tenant.orgId}`).toHaveLength(1);
    }
    // The two overlapped at least once (else this test proves nothing).
    expect(seen).toContain(409);
  });

  it('is refused to kommit_app outside its tenant context and to non-owners inside it', async () => {
    const error = await env.db.app.sql`select kommit_begin_org_deletion(${globex.tenant.orgId})`.then(() => undefined, (e: unknown) => e);
    expect(postgresError(error).message).toContain('needs a tenant context');
    const notOwner = await env.db.app
      .withTenant(globex.tenant.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${globex.tenant.orgId})`))
      .then(() => undefined, (e: unknown) => e);
    expect(postgresError(notOwner).message).toContain('only an owner');
  });
});

describe('the batched delete', () => {
  async function bigTenant(name: string, rows: number) {
    const tenant = await createTenant(env.db, env.server, name);
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'bulk' })).body.id;
    await env.db.admin.withTenant(tenant.orgId, (tx) =>
      tx.execute(sql`insert into decision_events (org_id, project_id, kind, title, actor_type, actor_id)
                     select ${tenant.orgId}, ${projectId}, 'progress', 'bulk ' || i, 'user', 'bulk' from generate_series(1, ${rows}) as i`),
    );
    return tenant;
  }
  const begin = (tenant: TestTenant, userId: string) =>
    env.db.app.withTenant(tenant.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${userId})`));
  const ownerId = async (tenant: TestTenant) => (await tenant.owner.request('GET', '/v1/session')).body.user.id as string;

  it('resumes after a crash mid-way and finishes the job', async () => {
    const tenant = await bigTenant('Crashy', 50);
    await begin(tenant, await ownerId(tenant));
    const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    const before = total(await countsOf(env.db, tenant.orgId));
    let batches = 0;
    const crash = deleteOrganizationData(env.db.admin, tenant.orgId, {
      batchSize: 10,
      onBatch: () => {
        if (++batches === 2) throw new Error('killed');
      },
    });
    await expect(crash).rejects.toThrow('killed');
    const partial = total(await countsOf(env.db, tenant.orgId));
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(before);
    await runJobs(env.db);
    expect(Object.values(await countsOf(env.db, tenant.orgId)).every((n) => n === 0)).toBe(true);
    const [record] = await env.db.admin.sql`select rows_deleted, completed_at from organization_deletions where deleted_organization_id = ${tenant.orgId}`;
    expect(Number(record!.rows_deleted)).toBeGreaterThanOrEqual(50);
    expect(record!.completed_at).not.toBeNull();
  });

  it('keeps serving other organizations while a large one is removed', { timeout: 120_000 }, async () => {
    const big = await bigTenant('Big', 40_000);
    const other = await createTenant(env.db, env.server, 'Other');
    await other.owner.request('POST', '/v1/projects', { name: 'still here' });
    await begin(big, await ownerId(big));
    let done = false;
    const deletion = deleteOrganizationData(env.db.admin, big.orgId, { batchSize: 2000 }).finally(() => (done = true));
    const statuses: number[] = [];
    while (!done) {
      const response = await fetch(`${env.server.url}/v1/projects`, { headers: other.headers });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(await deletion).toBeGreaterThanOrEqual(40_000);
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });
});

describeTenantRouteSecurity({
  fn: organizations,
  // The session lists the owner's organizations: a deletion would take the organization out of it.
  fixtures: { 'DELETE /v1/organizations/{id}': { body: { confirm: 'nope' }, read: '/v1/session', apiKey: false } },
  async createResource(tenant) {
    return tenant.orgId;
  },
});
