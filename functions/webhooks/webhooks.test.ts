import { request as httpRequest } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Job } from 'graphile-worker';
import pino from 'pino';
import { signerFromPem } from '../../db/audit/checkpoint.ts';
import { LocalHashEmbedder } from '../../db/search/embedder.ts';
import { createDatabase } from '../../db/tenant.ts';
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { queuedJobs, runJobs } from '../../test/jobs.ts';
import { withSlowInserts } from '../../test/races.ts';
import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import { startTestServer } from '../../test/server.ts';
import { createTenant, type TestTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { taskRegistry } from '../jobs.ts';
import webhooks from './index.ts';

const env = useTestServer();
let acme: TestTenant;
let globex: TestTenant;
let acmeProject: string;
let globexProject: string;

interface CreatedEndpoint {
  id: string;
  secret: string;
  url: string;
}

async function createEndpoint(tenant: TestTenant, body: Record<string, unknown>): Promise<CreatedEndpoint> {
  const response = await tenant.owner.request('POST', '/v1/webhook-endpoints', body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

/** Signs as a customer system does, with the reference library, and posts over real HTTP. */
function deliver(baseUrl: string, endpointId: string, secret: string, body: string, options: { id?: string; at?: Date; headers?: Record<string, string> } = {}) {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const at = options.at ?? new Date();
  const signature = new Webhook(secret).sign(id, at, body);
  return fetch(`${baseUrl}/hooks/${endpointId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
      ...options.headers,
    },
    body,
  });
}

async function deliveryCount(tenant: TestTenant) {
  const [row] = await env.db.admin.withTenant(tenant.orgId, (tx) => tx.execute<{ n: number }>(sql`select count(*)::int as n from webhook_deliveries`));
  return row!.n;
}

beforeAll(async () => {
  acme = await createTenant(env.db, env.server, 'Acme');
  globex = await createTenant(env.db, env.server, 'Globex');
  acmeProject = (await acme.owner.request('POST', '/v1/projects', { name: 'CRM' })).body.id;
  globexProject = (await globex.owner.request('POST', '/v1/projects', { name: 'CRM' })).body.id;
});

describe('webhook endpoints', () => {
  it('show the secret once, in Standard Webhooks form, and store it sealed', async () => {
    const endpoint = await createEndpoint(acme, { name: 'Deals', projectId: acmeProject, target: 'decision_event' });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(endpoint.url).toBe(`/hooks/${endpoint.id}`);
    const read = await acme.owner.request('GET', `/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.body.secret).toBeUndefined();
    expect(JSON.stringify((await acme.owner.request('GET', '/v1/webhook-endpoints')).body)).not.toContain(endpoint.secret.slice(6));
    const [stored] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ sealed_secret: string }>(sql`select sealed_secret from webhook_endpoints where id = ${endpoint.id}`),
    );
    expect(stored!.sealed_secret).toMatch(/^v1\./);
    expect(stored!.sealed_secret).not.toContain(endpoint.secret.slice(6, 20));
    const audit = (await acme.owner.request('GET', `/v1/audit-log?action=webhook_endpoint.create&targetId=${endpoint.id}`)).body.data;
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(endpoint.secret.slice(6));
  });

  it('refuse another organization’s project, a run endpoint without a workflow, and members below admin', async () => {
    expect((await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'x', projectId: globexProject, target: 'decision_event' })).status).toBe(404);
    const noWorkflow = await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'x', projectId: acmeProject, target: 'workflow_run' });
    expect(noWorkflow.status).toBe(400);
    expect(noWorkflow.body.errors[0].path).toBe('json.workflowId');
    const viaKey = await fetch(`${env.server.url}/v1/webhook-endpoints`, { method: 'POST', headers: acme.headers, body: JSON.stringify({ name: 'x', projectId: acmeProject, target: 'raw_event' }) });
    expect(viaKey.status).toBe(403);
  });
});

describe('receiving deliveries', () => {
  let deals: CreatedEndpoint;
  let raw: CreatedEndpoint;
  let theirs: CreatedEndpoint;
  beforeAll(async () => {
    deals = await createEndpoint(acme, { name: 'Deals', projectId: acmeProject, target: 'decision_event' });
    raw = await createEndpoint(acme, { name: 'Raw', projectId: acmeProject, target: 'raw_event' });
    theirs = await createEndpoint(globex, { name: 'Theirs', projectId: globexProject, target: 'decision_event' });
  });

  it('stores a verified delivery, answers 202, and the worker turns it into a decision event of that organization only', async () => {
    const body = JSON.stringify({ title: 'Deal won: Initech', rationale: 'Signed today', kind: 'progress' });
    const response = await deliver(env.server.url, deals.id, deals.secret, body);
    expect(response.status).toBe(202);
    const receipt = await response.json();
    expect(receipt.status).toBe('received');
    await runJobs(env.db);
    const events = (await acme.owner.request('GET', '/v1/decision-events?limit=200')).body.data as { id: string; title: string; actorType?: string }[];
    const event = events.find((e) => e.title === 'Deal won: Initech');
    expect(event).toBeDefined();
    expect(JSON.stringify((await globex.owner.request('GET', '/v1/decision-events?limit=200')).body)).not.toContain('Initech');
    const deliveries = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries`)).body.data;
    expect(deliveries[0]).toMatchObject({ id: receipt.id, status: 'processed', attempts: 1, result: { type: 'decision_event', id: event!.id } });
    const audit = (await acme.owner.request('GET', `/v1/audit-log?action=decision_event.create&targetId=${event!.id}`)).body.data;
    expect(audit[0]).toMatchObject({ actor_type: 'webhook', actor_id: deals.id });
  });

  it('dead-letters deliveries to an archived project, and takes no new endpoint on it, until it is active again', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Shelved CRM' })).body.id;
    const shelved = await createEndpoint(acme, { name: 'Shelved', projectId: project, target: 'decision_event' });
    const setStatus = async (status: string) => expect((await acme.owner.request('PATCH', `/v1/projects/${project}`, { status })).status).toBe(200);
    const eventsTitled = async (title: string) =>
      (await acme.owner.request('GET', `/v1/decision-events?projectId=${project}&limit=200`)).body.data.filter((e: { title: string }) => e.title === title).length;
    await setStatus('archived');
    expect((await deliver(env.server.url, shelved.id, shelved.secret, JSON.stringify({ title: 'While shelved' }))).status).toBe(202);
    await runJobs(env.db);
    const [dead] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${shelved.id}/deliveries`)).body.data;
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, result: null });
    expect(dead.lastError).toContain('archived');
    expect(await eventsTitled('While shelved')).toBe(0);
    const another = await acme.owner.request('POST', '/v1/webhook-endpoints', { name: 'Another', projectId: project, target: 'decision_event' });
    expect(another.status).toBe(409);
    expect(another.body.type).toBe('urn:kommit:problem:project-archived');
    await setStatus('active');
    expect((await deliver(env.server.url, shelved.id, shelved.secret, JSON.stringify({ title: 'Back again' }))).status).toBe(202);
    await runJobs(env.db);
    expect(await eventsTitled('Back again')).toBe(1);
  });

  it('takes the endpoint id in any letter case', async () => {
    expect((await deliver(env.server.url, raw.id.toUpperCase(), raw.secret, '{}')).status).toBe(202);
  });

  it('starts a workflow run for a workflow_run endpoint, and stores raw events as they came', async () => {
    const workflow = (await acme.owner.request('POST', `/v1/projects/${acmeProject}/workflows`, { name: 'Onboard', steps: [{ name: 'Check', kind: 'review', requiredRole: 'member' }] })).body.id;
    await acme.owner.request('PATCH', `/v1/workflows/${workflow}`, { status: 'active' });
    const runs = await createEndpoint(acme, { name: 'Runs', projectId: acmeProject, target: 'workflow_run', workflowId: workflow });
    expect((await deliver(env.server.url, runs.id, runs.secret, JSON.stringify({ customer: 'Initech' }))).status).toBe(202);
    expect((await deliver(env.server.url, raw.id, raw.secret, 'plain text, not JSON', { headers: { 'content-type': 'text/plain' } })).status).toBe(202);
    await runJobs(env.db);
    const [run] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${runs.id}/deliveries`)).body.data;
    expect(run.status).toBe('processed');
    expect((await acme.owner.request('GET', `/v1/workflows/${workflow}/runs/${run.result.id}`)).body.status).toBe('running');
    const [stored] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${raw.id}/deliveries`)).body.data;
    expect(stored).toMatchObject({ status: 'processed', result: { type: 'raw_event', id: stored.id } });
  });

  it('answers a redelivery 200 and stores nothing new; a storm of 100 deliveries sent 10 times stores exactly 100', { timeout: 60_000 }, async () => {
    const before = await deliveryCount(acme);
    const body = JSON.stringify({ title: 'once' });
    const first = await deliver(env.server.url, raw.id, raw.secret, body, { id: 'msg_once' });
    const again = await deliver(env.server.url, raw.id, raw.secret, body, { id: 'msg_once' });
    expect([first.status, again.status]).toEqual([202, 200]);
    expect((await again.json()).id).toBe((await first.json()).id);
    const ids = Array.from({ length: 100 }, (_, i) => `storm_${i}`);
    const statuses = await Promise.all(
      Array.from({ length: 10 }).flatMap(() => ids.map((id) => deliver(env.server.url, raw.id, raw.secret, JSON.stringify({ title: id }), { id }).then((r) => r.status))),
    );
    expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
    expect(statuses.filter((s) => s === 202)).toHaveLength(100);
    expect(await deliveryCount(acme)).toBe(before + 101);
  });

  it('refuses bad deliveries with a clear 4xx and stores nothing', async () => {
    const before = await deliveryCount(acme);
    const body = JSON.stringify({ title: 'Deal lost' });
    const now = Math.floor(Date.now() / 1000);
    const signed = (overrides: Record<string, string>, payload = body) =>
      fetch(`${env.server.url}/hooks/${deals.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_bad', 'webhook-timestamp': String(now), 'webhook-signature': new Webhook(deals.secret).sign('msg_bad', new Date(now * 1000), body), ...overrides },
        body: payload,
      });
    const cases: [string, Promise<Response>, number][] = [
      ['missing headers', fetch(`${env.server.url}/hooks/${deals.id}`, { method: 'POST', body }), 400],
      ['bad signature', signed({ 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') }), 404],
      ['another endpoint’s secret', deliver(env.server.url, deals.id, raw.secret, body), 404],
      ['a body altered by one byte', signed({}, body.replace('lost', 'lose')), 404],
      ['re-serialised JSON', signed({}, JSON.stringify(JSON.parse(body), null, 2)), 404],
      ['a stale timestamp', deliver(env.server.url, deals.id, deals.secret, body, { at: new Date(Date.now() - 6 * 60_000) }), 400],
      ['a future timestamp', deliver(env.server.url, deals.id, deals.secret, body, { at: new Date(Date.now() + 6 * 60_000) }), 400],
      ['invalid JSON', deliver(env.server.url, deals.id, deals.secret, '{"title": '), 400],
      ['a body that is not UTF-8', fetch(`${env.server.url}/hooks/${deals.id}`, { method: 'POST', body: Buffer.from([0xff, 0xfe]) , headers: { 'webhook-id': 'x', 'webhook-timestamp': String(now), 'webhook-signature': 'v1,x' } }), 400],
      // The sender kept a trailing newline of the secret in its configuration and signs with that key.
      ['a secret with trailing whitespace', deliver(env.server.url, deals.id, `whsec_${Buffer.concat([Buffer.from(deals.secret.slice(6), 'base64'), Buffer.from('\n')]).toString('base64')}`, body), 404],
      ['a malformed endpoint id', deliver(env.server.url, 'not-a-uuid', deals.secret, body), 404],
    ];
    for (const [what, pending, status] of cases) {
      const response = await pending;
      expect(response.status, what).toBe(status);
      expect(response.headers.get('content-type'), what).toBe('application/problem+json');
    }
    expect(await deliveryCount(acme)).toBe(before);
  });

  it('answers an unknown, a disabled and another organization’s endpoint exactly alike', async () => {
    const body = JSON.stringify({ title: 'probe' });
    const disabled = await createEndpoint(acme, { name: 'Off', projectId: acmeProject, target: 'decision_event', enabled: false });
    const answers = await Promise.all(
      [
        deliver(env.server.url, crypto.randomUUID(), deals.secret, body),
        deliver(env.server.url, disabled.id, disabled.secret, body),
        deliver(env.server.url, theirs.id, deals.secret, body),
      ].map(async (pending) => {
        const response = await pending;
        const problem = await response.json();
        return { status: response.status, type: problem.type, title: problem.title, detail: problem.detail };
      }),
    );
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0]!.status).toBe(404);
  });

  it('accepts both secrets during a rotation’s overlap, and only the new one without overlap', async () => {
    const endpoint = await createEndpoint(acme, { name: 'Rotating', projectId: acmeProject, target: 'raw_event' });
    const rotated = (await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 30 })).body;
    expect(rotated.secret).not.toBe(endpoint.secret);
    expect(rotated.previousSecretExpiresAt).not.toBeNull();
    expect((await deliver(env.server.url, endpoint.id, endpoint.secret, '{}')).status).toBe(202);
    expect((await deliver(env.server.url, endpoint.id, rotated.secret, '{}')).status).toBe(202);
    const again = (await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 0 })).body;
    expect((await deliver(env.server.url, endpoint.id, rotated.secret, '{}')).status).toBe(404);
    expect((await deliver(env.server.url, endpoint.id, again.secret, '{}')).status).toBe(202);
  });

  it('refuses a second rotation with an overlap while the first one’s overlap runs, so no secret in use is cut off', async () => {
    const endpoint = await createEndpoint(acme, { name: 'Rotating twice', projectId: acmeProject, target: 'raw_event' });
    const first = await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 60 });
    expect(first.status).toBe(200);
    const second = await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 60 });
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect(second.body.previousSecretExpiresAt).toBe(first.body.previousSecretExpiresAt);
    expect(second.body.detail).toContain(first.body.previousSecretExpiresAt);
    // Nothing changed: the original secret and the first rotation's both still verify, and only one rotation is audited.
    expect((await deliver(env.server.url, endpoint.id, endpoint.secret, '{}')).status).toBe(202);
    expect((await deliver(env.server.url, endpoint.id, first.body.secret, '{}')).status).toBe(202);
    expect((await acme.owner.request('GET', `/v1/audit-log?action=webhook_endpoint.rotate_secret&targetId=${endpoint.id}`)).body.data).toHaveLength(1);
    // Once the overlap is over, rotating with an overlap works again, and the first rotation's secret is the previous one.
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute(sql`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ${endpoint.id}`));
    const third = await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 60 });
    expect(third.status).toBe(200);
    expect((await deliver(env.server.url, endpoint.id, endpoint.secret, '{}')).status).toBe(404);
    expect((await deliver(env.server.url, endpoint.id, first.body.secret, '{}')).status).toBe(202);
    expect((await deliver(env.server.url, endpoint.id, third.body.secret, '{}')).status).toBe(202);
    // Without overlap a rotation is always carried out: every earlier secret stops at once.
    const cut = await acme.owner.request('POST', `/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { overlapMinutes: 0 });
    expect(cut.status).toBe(200);
    expect((await deliver(env.server.url, endpoint.id, first.body.secret, '{}')).status).toBe(404);
    expect((await deliver(env.server.url, endpoint.id, third.body.secret, '{}')).status).toBe(404);
    expect((await deliver(env.server.url, endpoint.id, cut.body.secret, '{}')).status).toBe(202);
  });

  it('stores deliveries as an outbox: no job per request; the relay queues one per waiting delivery', async () => {
    await runJobs(env.db);
    for (let i = 0; i < 5; i++) expect((await deliver(env.server.url, raw.id, raw.secret, JSON.stringify({ n: i }))).status).toBe(202);
    expect((await queuedJobs(env.db)).filter((j) => j.task_identifier.startsWith('webhook.'))).toEqual([]);
    expect((await acme.owner.request('GET', `/v1/webhook-endpoints/${raw.id}/deliveries?status=received`)).body.data).toHaveLength(5);
    await runJobs(env.db);
    expect((await acme.owner.request('GET', `/v1/webhook-endpoints/${raw.id}/deliveries?status=received`)).body.data).toEqual([]);
    expect((await acme.owner.request('GET', `/v1/webhook-endpoints/${raw.id}/deliveries?limit=5`)).body.data.map((d: { status: string }) => d.status)).toEqual(Array(5).fill('processed'));
  });

  it('signs audit checkpoints over the rows the worker appends, when given the key', async () => {
    const signer = signerFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { keyName: 'worker-test', everyAppends: 1, everyMinutes: 60 });
    expect((await deliver(env.server.url, raw.id, raw.secret, '{"signed":true}')).status).toBe(202);
    await runJobs(env.db, { auditSigner: signer });
    const [latest] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ key_name: string; seq: number; head: number }>(sql`
        select key_name, seq::int, (select seq::int from audit_chain_heads) as head from audit_checkpoints order by seq desc limit 1`),
    );
    expect(latest).toMatchObject({ key_name: 'worker-test' });
    expect(latest!.seq).toBe(latest!.head);
  });

  it('verifies over the exact bytes sent: a body opening with a byte order mark is accepted and stored with it', async () => {
    const bom = '\uFEFF';
    const rawResponse = await deliver(env.server.url, raw.id, raw.secret, `${bom}order 1042 shipped`, { headers: { 'content-type': 'text/plain' } });
    expect(rawResponse.status).toBe(202);
    const rawId = (await rawResponse.json()).id;
    const [stored] = await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ body: string }>(sql`select body from webhook_deliveries where id = ${rawId}`));
    expect(Buffer.from(stored!.body, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(stored!.body).toBe(`${bom}order 1042 shipped`);
    // JSON may open with one too (RFC 8259 lets parsers ignore it): still a decision event.
    const jsonResponse = await deliver(env.server.url, deals.id, deals.secret, `${bom}${JSON.stringify({ title: 'Deal won: BOM Corp' })}`);
    expect(jsonResponse.status).toBe(202);
    const jsonId = (await jsonResponse.json()).id;
    await runJobs(env.db);
    const deliveries = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries?limit=200`)).body.data as { id: string; status: string }[];
    expect(deliveries.find((d) => d.id === jsonId)).toMatchObject({ status: 'processed', result: { type: 'decision_event' } });
  });

  it('accepts several space-separated signatures when one of them verifies', async () => {
    const at = new Date();
    const good = new Webhook(raw.secret).sign('msg_multi', at, '{}');
    const other = new Webhook(deals.secret).sign('msg_multi', at, '{}');
    const response = await fetch(`${env.server.url}/hooks/${raw.id}`, {
      method: 'POST',
      headers: { 'webhook-id': 'msg_multi', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': `${other} v2,abc ${good}` },
      body: '{}',
    });
    expect(response.status).toBe(202);
  });

  it('lets a project deletion and a delivery being turned into one of its decision events finish one after the other, never deadlock', async () => {
    const project = (await acme.owner.request('POST', '/v1/projects', { name: 'Short-lived' })).body.id as string;
    const endpoint = await createEndpoint(acme, { name: 'Short-lived', projectId: project, target: 'decision_event' });
    expect((await deliver(env.server.url, endpoint.id, endpoint.secret, JSON.stringify({ title: 'In flight' }))).status).toBe(202);
    await withSlowInserts(env.db, 'decision_events', 0.8, async (sleeping) => {
      // The worker holds the delivery (and its project) while its insert sleeps...
      const jobs = runJobs(env.db);
      await sleeping();
      // ...and the deletion, cascading to the endpoint and its deliveries, waits for it.
      const deleted = await acme.owner.request('DELETE', `/v1/projects/${project}`);
      expect(deleted.status, deleted.text).toBe(204);
      await jobs;
    });
    const [left] = await env.db.admin.withTenant(acme.orgId, (tx) =>
      tx.execute<{ n: number }>(sql`select count(*)::int as n from decision_events where project_id = ${project}`),
    );
    expect(left).toEqual({ n: 0 });
  });

  it('retries a delivery that failed for a passing reason, and dead-letters it after the last attempt', async () => {
    // A passing fault: decision events cannot be written for a while.
    await env.db.admin.sql.unsafe(`
      create function kommit_test_fail() returns trigger language plpgsql as $$ begin raise exception 'storage briefly unavailable'; end $$;
      create trigger fail_for_a_while before insert on decision_events for each row execute function kommit_test_fail();`);
    try {
      expect((await deliver(env.server.url, deals.id, deals.secret, JSON.stringify({ title: 'Retried' }), { id: 'msg_retry' })).status).toBe(202);
      await expect(runJobs(env.db)).rejects.toThrow('storage briefly unavailable');
      let [delivery] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries?status=retrying`)).body.data;
      expect(delivery).toMatchObject({ messageId: 'msg_retry', attempts: 1, lastError: expect.stringContaining('storage briefly unavailable') });
      // Past the back-off, on the last attempt: dead, with the reason (and the job is done).
      await env.db.admin.sql`update graphile_worker._private_jobs set run_at = now(), max_attempts = 2, last_error = null`;
      await runJobs(env.db);
      [delivery] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries?status=dead`)).body.data.filter((d: { messageId: string }) => d.messageId === 'msg_retry');
      expect(delivery).toMatchObject({ attempts: 2, status: 'dead', lastError: 'storage briefly unavailable' });
    } finally {
      await env.db.admin.sql.unsafe('drop trigger fail_for_a_while on decision_events; drop function kommit_test_fail()');
      await env.db.admin.sql`delete from graphile_worker._private_jobs`;
    }
  });

  it('dead-letters a delivery that can never become a decision event, and shows why', async () => {
    expect((await deliver(env.server.url, deals.id, deals.secret, JSON.stringify({ note: 'no title' }))).status).toBe(202);
    await runJobs(env.db);
    const [dead] = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries?status=dead`)).body.data;
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, result: null });
    expect(dead.lastError).toContain('title');
  });

  it('dead-letters at once a delivery whose data the database can never take, or nested too deep', async () => {
    const workflow = (await acme.owner.request('POST', `/v1/projects/${acmeProject}/workflows`, { name: 'Deep', steps: [{ name: 'Check', kind: 'review', requiredRole: 'member' }] })).body.id;
    await acme.owner.request('PATCH', `/v1/workflows/${workflow}`, { status: 'active' });
    const runs = await createEndpoint(acme, { name: 'Deep runs', projectId: acmeProject, target: 'workflow_run', workflowId: workflow });
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const cases = [
      // JSON may escape a NUL; Postgres text cannot hold one (SQLSTATE 22021).
      { endpoint: deals, id: 'msg_nul', body: JSON.stringify({ title: 'Nul\u0000title' }), reason: /0x00/ },
      // Parses, but is too deep to write down again (the audit row's canonical JSON).
      { endpoint: runs, id: 'msg_deep_run', body: `{"input":${nested(30_000)}}`, reason: /call stack/ },
    ];
    for (const c of cases) expect((await deliver(env.server.url, c.endpoint.id, c.endpoint.secret, c.body, { id: c.id })).status, c.id).toBe(202);
    // Not retried: no job is left failing, and each delivery is dead after its one attempt, with the reason.
    await runJobs(env.db);
    for (const c of cases) {
      const delivery = (await acme.owner.request('GET', `/v1/webhook-endpoints/${c.endpoint.id}/deliveries?limit=200`)).body.data.find((d: { messageId: string }) => d.messageId === c.id);
      expect(delivery, c.id).toMatchObject({ status: 'dead', attempts: 1, result: null, lastError: expect.stringMatching(c.reason) });
    }
  });

  it('holds webhook decision events to the same metadata limit as the API', async () => {
    const body = JSON.stringify({ title: 'Huge', metadata: { blob: 'x'.repeat(20_000) } });
    expect((await deliver(env.server.url, deals.id, deals.secret, body)).status).toBe(202);
    await runJobs(env.db);
    const dead = (await acme.owner.request('GET', `/v1/webhook-endpoints/${deals.id}/deliveries?status=dead`)).body.data.find((d: { lastError: string }) => d.lastError.includes('metadata'));
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, result: null });
    expect(dead.lastError).toMatch(/metadata is limited to 16384 bytes/);
  });
});

describe('a delivery whose attempts fail before they can record themselves', () => {
  it('waits for the next attempt, and after the last one is dead with the reason instead of queued forever', async () => {
    const endpoint = await createEndpoint(acme, { name: 'Locked out', projectId: acmeProject, target: 'raw_event' });
    const response = await deliver(env.server.url, endpoint.id, endpoint.secret, '{}');
    const deliveryId = (await response.json()).id as string;
    await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute(sql`update webhook_deliveries set status = 'queued' where id = ${deliveryId}`));
    const status = async () =>
      (await env.db.admin.withTenant(acme.orgId, (tx) => tx.execute<{ status: string; attempts: number; last_error: string | null }>(sql`select status, attempts, last_error from webhook_deliveries where id = ${deliveryId}`)))[0];
    // A worker whose statements give up after a second, while the organization's row is locked elsewhere:
    // each attempt fails on its first statement, before it could record anything.
    const database = createDatabase(env.db.adminUrl, { ca: env.db.ca, max: 2, statementTimeoutSeconds: 1 });
    const process = taskRegistry['webhook.process']!;
    const attempt = (attempts: number) =>
      process({ orgId: acme.orgId, deliveryId }, { database, logger: pino({ level: 'silent' }), embedder: new LocalHashEmbedder(), job: { attempts, max_attempts: 2 } as Job });
    try {
      await env.db.admin.withTenant(acme.orgId, async (tx) => {
        await tx.execute(sql`select 1 from organizations where id = ${acme.orgId} for update`);
        await expect(attempt(1)).rejects.toMatchObject({ cause: { code: '57014' } });
        expect(await status()).toEqual({ status: 'queued', attempts: 0, last_error: null });
        await expect(attempt(2)).rejects.toMatchObject({ cause: { code: '57014' } });
      });
      expect(await status()).toEqual({ status: 'dead', attempts: 1, last_error: expect.stringMatching(/^gave up after the last attempt: .*statement timeout/) });
    } finally {
      await database.close();
    }
  });
});

describe('deliveries of an organization being deleted', () => {
  it('are left dead by the worker, creating no decision event, audit row or search job, and not retried', async () => {
    const doomed = await createTenant(env.db, env.server, 'Doomed');
    const project = (await doomed.owner.request('POST', '/v1/projects', { name: 'CRM' })).body.id;
    const endpoint = await createEndpoint(doomed, { name: 'Deals', projectId: project, target: 'decision_event' });
    const response = await deliver(env.server.url, endpoint.id, endpoint.secret, JSON.stringify({ title: 'Deal won after goodbye' }));
    expect(response.status).toBe(202);
    const deliveryId = (await response.json()).id as string;
    // Queued before the deletion request, as the relay does it; its job runs after.
    await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute(sql`update webhook_deliveries set status = 'queued' where id = ${deliveryId}`));
    const ownerId = (await doomed.owner.request('GET', '/v1/session')).body.user.id as string;
    await env.db.app.withTenant(doomed.orgId, (tx) => tx.execute(sql`select kommit_begin_org_deletion(${ownerId})`));
    const state = async () => {
      const [row] = await env.db.admin.withTenant(doomed.orgId, (tx) =>
        tx.execute<{ events: number; audit: number; status: string; last_error: string | null }>(sql`
          select (select count(*)::int from decision_events) as events, (select count(*)::int from audit_log) as audit,
                 d.status, d.last_error from webhook_deliveries d where d.id = ${deliveryId}`),
      );
      const searchJobs = (await queuedJobs(env.db)).filter((j) => j.task_identifier === 'search.index').length;
      return { ...row!, searchJobs };
    };
    const before = await state();
    // The job alone, as the worker runs it: org.delete (queued by the request) would remove what this test looks at.
    const process = taskRegistry['webhook.process']!;
    const context = { database: env.db.admin, logger: pino({ level: 'silent' }), embedder: new LocalHashEmbedder(), job: { attempts: 1, max_attempts: 8 } as Job };
    await process({ orgId: doomed.orgId, deliveryId }, context);
    expect(await state()).toEqual({ ...before, status: 'dead', last_error: expect.stringMatching(/^not processed: the organization is being deleted/) });
    // The organization's removal then goes through as usual.
    await runJobs(env.db);
    expect(await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute(sql`select 1 from organizations where id = ${doomed.orgId}`))).toHaveLength(0);
  });
});

describe('delivery limits', () => {
  it('refuses an oversized body before reading it all, and rate-limits per endpoint', async () => {
    const server = await startTestServer(env.db, { config: { webhooks: { maxBodyBytes: 1024, perEndpointPerMinute: 3, failedPerAddressPerMinute: 60 } } });
    try {
      const endpoint = await createEndpoint(acme, { name: 'Small', projectId: acmeProject, target: 'raw_event' });
      // Streamed without a length: the server must stop at the limit, not after 8 MiB.
      const total = 8 * 1024 * 1024;
      let sent = 0;
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${server.url}/hooks/${endpoint.id}`, {
          method: 'POST',
          headers: { 'webhook-id': 'big', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,x', 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => resolve(res.statusCode!));
        req.on('error', reject);
        const chunk = Buffer.alloc(16 * 1024, 0x61);
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
      expect(status).toBe(413);
      expect(sent).toBeLessThan(total);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await deliver(server.url, endpoint.id, endpoint.secret, '{}')).status);
      expect(statuses.slice(0, 2)).toEqual([202, 202]);
      expect(statuses.at(-1)).toBe(429);
    } finally {
      await server.close();
    }
  });

  it('counts signatures that do not verify per client address, never against the endpoint’s budget', async () => {
    // Behind a trusted proxy, so the test can send from two client addresses.
    const server = await startTestServer(env.db, {
      config: { trustedProxies: ['127.0.0.1/32'], webhooks: { maxBodyBytes: 1024, perEndpointPerMinute: 3, failedPerAddressPerMinute: 5 } },
    });
    try {
      const endpoint = await createEndpoint(acme, { name: 'Targeted', projectId: acmeProject, target: 'raw_event' });
      const attacker = { 'x-forwarded-for': '203.0.113.7' };
      const sender = { 'x-forwarded-for': '198.51.100.1' };
      const forged = `v1,${Buffer.alloc(32).toString('base64')}`;
      const noise: Response[] = [];
      for (let i = 0; i < 10; i++) noise.push(await deliver(server.url, endpoint.id, endpoint.secret, '{}', { headers: { ...attacker, 'webhook-signature': forged } }));
      expect(noise.map((r) => r.status)).toEqual([...Array(5).fill(404), ...Array(5).fill(429)]);
      expect(noise.at(-1)!.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(noise.at(-1)!.headers.get('content-type')).toBe('application/problem+json');
      // Unknown endpoints are failures too, counted per endpoint: the attacker's budget for them is its own.
      expect((await deliver(server.url, crypto.randomUUID(), endpoint.secret, '{}', { headers: attacker })).status).toBe(404);
      // The real sender is untouched by the noise, and its signed deliveries spend the endpoint's budget alone.
      const signed: number[] = [];
      for (let i = 0; i < 4; i++) signed.push((await deliver(server.url, endpoint.id, endpoint.secret, '{}', { headers: sender })).status);
      expect(signed).toEqual([202, 202, 202, 429]);
    } finally {
      await server.close();
    }
  });
});

describeTenantRouteSecurity({
  fn: webhooks,
  fixtures: {
    'POST /v1/webhook-endpoints': { body: async (tenant: TestTenant) => ({ name: 'x', projectId: (await tenant.owner.request('POST', '/v1/projects', { name: 'p' })).body.id, target: 'raw_event' }), apiKey: false },
    'GET /v1/webhook-endpoints': {},
    'GET /v1/webhook-endpoints/{id}': {},
    'PATCH /v1/webhook-endpoints/{id}': { body: { enabled: false }, apiKey: false },
    'DELETE /v1/webhook-endpoints/{id}': { apiKey: false },
    'GET /v1/webhook-endpoints/{id}/deliveries': {},
    'POST /v1/webhook-endpoints/{id}/rotate-secret': { body: { overlapMinutes: 5 }, apiKey: false },
  },
  async createResource(tenant) {
    const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'p' })).body.id;
    return (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'x', projectId, target: 'raw_event' })).body.id;
  },
});
