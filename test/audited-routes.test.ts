import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectFunctions } from '../functions/index.ts';
import { Webhook } from 'standardwebhooks';
import { runJobs } from './jobs.ts';
import { createTenant, type TestTenant } from './tenants.ts';
import { useTestServer } from './use-server.ts';
import { UserAgent } from './user-agent.ts';

// Every governed action leaves its audit row. The OpenAPI document drives the
// list, so a new mutating route without an entry here fails this test.
const env = useTestServer();
let tenant: TestTenant;
beforeAll(async () => {
  tenant = await createTenant(env.db, env.server, 'Audited');
});

async function auditActions() {
  const response = await tenant.owner.request('GET', '/v1/audit-log?limit=500');
  return (response.body.data as { action: string; actor_type: string }[]).map((r) => r.action);
}

const newProject = async () => (await tenant.owner.request('POST', '/v1/projects', { name: 'to change' })).body.id as string;
const newEvent = async () =>
  (await tenant.owner.request('POST', '/v1/decision-events', { projectId: await newProject(), kind: 'decision', title: 'to archive' })).body.id as string;
const transcript = { channel: 'email', messages: [{ role: 'visitor', content: 'hello' }] };
const oneStep = [{ name: 'Look', kind: 'review', requiredRole: 'member' }];
const newWorkflow = async (active = false) => {
  const id = (await tenant.owner.request('POST', `/v1/projects/${await newProject()}/workflows`, { name: 'w', steps: oneStep })).body.id as string;
  if (active) await tenant.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
  return id;
};
const newEndpoint = async () =>
  (await tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId: await newProject(), target: 'raw_event' })).body as { id: string; secret: string };
const newArticle = async () => (await tenant.owner.request('POST', '/v1/helpdesk/articles', { title: 'to change', body: 'Words.' })).body.id as string;
/** A conversation on the tenant's widget, started from an allowed origin. */
const newConversation = async () => {
  const widget = (await tenant.owner.request('PUT', '/v1/widget', { allowedOrigins: ['https://audited.test'] })).body;
  const response = await fetch(`${env.server.url}/widget/v1/conversations`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://audited.test' }, body: JSON.stringify({ key: widget.publicKey }) });
  return { response, ...((await response.json()) as { conversationId: string; token: string }) };
};
const newControl = async () =>
  (await tenant.owner.request('POST', '/v1/controls', { ref: 'AUD-1', title: 'audited', evidence: [{ source: 'api_key_age', parameters: { maxAgeDays: 30 } }] })).body.id as string;
const newKey = async () => (await tenant.owner.request('POST', '/v1/api-keys', { name: 'to revoke' })).body.id as string;

/** How to carry each mutating route out once, successfully, and the action it must record. */
const governed: Record<string, { action: string; run: () => Promise<{ status: number }> }> = {
  'POST /v1/projects': { action: 'project.create', run: () => tenant.owner.request('POST', '/v1/projects', { name: 'audited' }) },
  'PATCH /v1/projects/{id}': { action: 'project.update', run: async () => tenant.owner.request('PATCH', `/v1/projects/${await newProject()}`, { status: 'archived' }) },
  'DELETE /v1/projects/{id}': { action: 'project.delete', run: async () => tenant.owner.request('DELETE', `/v1/projects/${await newProject()}`) },
  'POST /v1/api-keys': { action: 'api_key.create', run: () => tenant.owner.request('POST', '/v1/api-keys', { name: 'audited' }) },
  'DELETE /v1/api-keys/{id}': { action: 'api_key.revoke', run: async () => tenant.owner.request('DELETE', `/v1/api-keys/${await newKey()}`) },
  'POST /v1/decision-events': {
    action: 'decision_event.create',
    run: async () => tenant.owner.request('POST', '/v1/decision-events', { projectId: await newProject(), kind: 'learning', title: 'audited' }),
  },
  'POST /v1/decision-events/{id}/archive': {
    action: 'decision_event.archive',
    run: async () => tenant.owner.request('POST', `/v1/decision-events/${await newEvent()}/archive`),
  },
  'POST /v1/support-transcripts': {
    action: 'support_transcript.import',
    run: () => tenant.owner.request('POST', '/v1/support-transcripts', transcript),
  },
  'DELETE /v1/support-transcripts/{id}': {
    action: 'support_transcript.delete',
    run: async () => tenant.owner.request('DELETE', `/v1/support-transcripts/${(await tenant.owner.request('POST', '/v1/support-transcripts', transcript)).body.id}`),
  },
  'POST /v1/projects/{projectId}/workflows': {
    action: 'workflow.create',
    run: async () => tenant.owner.request('POST', `/v1/projects/${await newProject()}/workflows`, { name: 'w', steps: oneStep }),
  },
  'PATCH /v1/workflows/{id}': { action: 'workflow.update', run: async () => tenant.owner.request('PATCH', `/v1/workflows/${await newWorkflow()}`, { name: 'renamed' }) },
  'POST /v1/workflows/{id}/runs': { action: 'workflow_run.start', run: async () => tenant.owner.request('POST', `/v1/workflows/${await newWorkflow(true)}/runs`) },
  'POST /v1/workflows/{id}/runs/{runId}/complete': {
    action: 'workflow_run.complete_step',
    run: async () => {
      const id = await newWorkflow(true);
      const runId = (await tenant.owner.request('POST', `/v1/workflows/${id}/runs`)).body.id;
      return tenant.owner.request('POST', `/v1/workflows/${id}/runs/${runId}/complete`, { step: 0 });
    },
  },
  'POST /v1/workflows/{id}/runs/{runId}/reject': {
    action: 'workflow_run.reject_step',
    run: async () => {
      const id = await newWorkflow(true);
      const runId = (await tenant.owner.request('POST', `/v1/workflows/${id}/runs`)).body.id;
      return tenant.owner.request('POST', `/v1/workflows/${id}/runs/${runId}/reject`, { step: 0 });
    },
  },
  'POST /v1/webhook-endpoints': {
    action: 'webhook_endpoint.create',
    run: async () => tenant.owner.request('POST', '/v1/webhook-endpoints', { name: 'h', projectId: await newProject(), target: 'raw_event' }),
  },
  'PATCH /v1/webhook-endpoints/{id}': { action: 'webhook_endpoint.update', run: async () => tenant.owner.request('PATCH', `/v1/webhook-endpoints/${(await newEndpoint()).id}`, { enabled: false }) },
  'DELETE /v1/webhook-endpoints/{id}': { action: 'webhook_endpoint.delete', run: async () => tenant.owner.request('DELETE', `/v1/webhook-endpoints/${(await newEndpoint()).id}`) },
  'POST /v1/webhook-endpoints/{id}/rotate-secret': {
    action: 'webhook_endpoint.rotate_secret',
    run: async () => tenant.owner.request('POST', `/v1/webhook-endpoints/${(await newEndpoint()).id}/rotate-secret`, {}),
  },
  // The delivery is stored by the public ingress; its governed action is what the worker makes of it.
  'POST /hooks/{endpointId}': {
    action: 'webhook_delivery.store',
    run: async () => {
      const endpoint = await newEndpoint();
      const at = new Date();
      const response = await fetch(`${env.server.url}/hooks/${endpoint.id}`, {
        method: 'POST',
        headers: { 'webhook-id': 'audited', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(endpoint.secret).sign('audited', at, '{}') },
        body: '{}',
      });
      await runJobs(env.db);
      return response;
    },
  },
  'POST /v1/helpdesk/articles': { action: 'helpdesk_article.create', run: () => tenant.owner.request('POST', '/v1/helpdesk/articles', { title: 'audited', body: 'Words.', published: true }) },
  'PATCH /v1/helpdesk/articles/{id}': { action: 'helpdesk_article.update', run: async () => tenant.owner.request('PATCH', `/v1/helpdesk/articles/${await newArticle()}`, { published: true }) },
  'DELETE /v1/helpdesk/articles/{id}': { action: 'helpdesk_article.delete', run: async () => tenant.owner.request('DELETE', `/v1/helpdesk/articles/${await newArticle()}`) },
  'PUT /v1/widget': { action: 'widget.update', run: () => tenant.owner.request('PUT', '/v1/widget', { greeting: 'Audited' }) },
  'POST /v1/widget/identity-secret': { action: 'widget.identity_secret_rotate', run: () => tenant.owner.request('POST', '/v1/widget/identity-secret') },
  // The public widget API writes the organization's transcript; its visitor is the actor.
  'POST /widget/v1/conversations': { action: 'support_transcript.widget_start', run: async () => (await newConversation()).response },
  'POST /widget/v1/conversations/{conversationId}/messages': {
    action: 'support_transcript.widget_message',
    run: async () => {
      const { conversationId, token } = await newConversation();
      const response = await fetch(`${env.server.url}/widget/v1/conversations/${conversationId}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://audited.test', authorization: `Bearer ${token}` },
        body: JSON.stringify({ question: 'Is this audited?' }),
      });
      await response.text();
      return response;
    },
  },
  'POST /v1/controls/frameworks': { action: 'control_framework.adopt', run: () => tenant.owner.request('POST', '/v1/controls/frameworks', { framework: 'eu-ai-act', version: '2024-1689' }) },
  'POST /v1/controls': { action: 'control.create', run: () => tenant.owner.request('POST', '/v1/controls', { ref: 'AUD-2', title: 'audited' }) },
  'PATCH /v1/controls/{id}': { action: 'control.update', run: async () => tenant.owner.request('PATCH', `/v1/controls/${await newControl()}`, { status: 'implemented' }) },
  'POST /v1/controls/{id}/collect': { action: 'evidence.collect', run: async () => tenant.owner.request('POST', `/v1/controls/${await newControl()}/collect`) },
  'POST /v1/evidence-packs': {
    action: 'evidence_pack.create',
    run: async () => {
      // A pack is for an adopted framework (adopted here unless an earlier run did).
      await tenant.owner.request('POST', '/v1/controls/frameworks', { framework: 'gdpr', version: '2016-679' });
      const response = await tenant.owner.request('POST', '/v1/evidence-packs', { framework: 'gdpr', from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() });
      return response;
    },
  },
  'POST /v1/session/active-organization': {
    action: 'session.switch_organization',
    run: () => tenant.owner.request('POST', '/v1/session/active-organization', { organizationId: tenant.orgId }),
  },
};

/**
 * Routes whose record cannot live in the organization's chain, because the
 * action removes the chain: a platform-level record takes its place.
 */
const platformRecorded: Record<string, { run: () => Promise<{ status: number }>; recorded: () => Promise<boolean> }> = (() => {
  let doomed: TestTenant;
  return {
    'DELETE /v1/organizations/{id}': {
      run: async () => {
        doomed = await createTenant(env.db, env.server, 'Doomed');
        const [org] = await env.db.admin.withTenant(doomed.orgId, (tx) => tx.execute<{ slug: string }>(sql`select slug from organizations`));
        return doomed.owner.request('DELETE', `/v1/organizations/${doomed.orgId}`, { confirm: org!.slug });
      },
      recorded: async () => (await env.db.admin.sql`select 1 from organization_deletions where deleted_organization_id = ${doomed.orgId}`).length === 1,
    },
  };
})();

function mutatingRoutes() {
  const names: string[] = [];
  for (const fn of selectFunctions(undefined)) {
    const document = fn.getOpenAPI31Document({ openapi: '3.1.0', info: { title: fn.functionName, version: 'test' } });
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const method of Object.keys(item ?? {})) {
        if (['post', 'put', 'patch', 'delete'].includes(method)) names.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return names;
}

describe('every mutating route in the OpenAPI document', () => {
  const routes = mutatingRoutes();

  it('has an entry here', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(governed[route] ?? platformRecorded[route], `${route} is not covered by the audit walk`).toBeDefined();
  });

  for (const route of routes.filter((r) => platformRecorded[r])) {
    it(`${route} leaves its platform-level record`, async () => {
      const spec = platformRecorded[route]!;
      expect((await spec.run()).status).toBeLessThan(300);
      expect(await spec.recorded()).toBe(true);
    });
  }

  for (const route of routes.filter((r) => !platformRecorded[r])) {
    it(`${route} writes its audit row in the organization's chain`, async () => {
      const spec = governed[route]!;
      const before = (await auditActions()).filter((a) => a === spec.action).length;
      const response = await spec.run();
      expect(response.status).toBeLessThan(300);
      const after = (await auditActions()).filter((a) => a === spec.action).length;
      expect(after).toBe(before + 1);
    });
  }
});

describe('membership changes made through Better Auth', () => {
  it('are audited: invitation, joining, role change, removal and leaving', async () => {
    const invitee = new UserAgent(env.server);
    const email = `audited-${Math.random().toString(36).slice(2)}@example.test`;
    await invitee.signUp(email);
    const invite = await tenant.owner.request('POST', '/api/auth/organization/invite-member', { email, role: 'member', organizationId: tenant.orgId });
    await invitee.request('POST', '/api/auth/organization/accept-invitation', { invitationId: invite.body.id });
    const members = await tenant.owner.request('GET', `/api/auth/organization/list-members?organizationId=${tenant.orgId}`);
    const memberId = members.body.members.find((m: { user: { email: string } }) => m.user.email === email).id;
    await tenant.owner.request('POST', '/api/auth/organization/update-member-role', { memberId, role: 'admin', organizationId: tenant.orgId });
    await tenant.owner.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: email, organizationId: tenant.orgId });

    const leaver = new UserAgent(env.server);
    const leaverEmail = `leaver-${Math.random().toString(36).slice(2)}@example.test`;
    await leaver.signUp(leaverEmail);
    const second = await tenant.owner.request('POST', '/api/auth/organization/invite-member', { email: leaverEmail, role: 'member', organizationId: tenant.orgId });
    await leaver.request('POST', '/api/auth/organization/accept-invitation', { invitationId: second.body.id });
    expect((await leaver.request('POST', '/api/auth/organization/leave', { organizationId: tenant.orgId })).status).toBe(200);

    const actions = await auditActions();
    for (const action of ['invitation.create', 'member.add', 'member.role_change', 'member.remove', 'member.leave', 'organization.create']) {
      expect(actions, action).toContain(action);
    }
    expect((await tenant.owner.request('GET', '/v1/audit-log/verify')).body.ok).toBe(true);
  });
});
