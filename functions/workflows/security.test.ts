import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import type { TestTenant } from '../../test/tenants.ts';
import workflows from './index.ts';

const steps = [{ name: 'Automated check', kind: 'automated', requiredRole: 'member' }, { name: 'Sign-off', kind: 'approval', requiredRole: 'owner' }];

/** A project with an active workflow and a running run, in the tenant's organization. */
async function workflowWithRun(tenant: TestTenant) {
  const projectId = (await tenant.owner.request('POST', '/v1/projects', { name: 'p' })).body.id as string;
  const id = (await tenant.owner.request('POST', `/v1/projects/${projectId}/workflows`, { name: 'w', steps })).body.id as string;
  await tenant.owner.request('PATCH', `/v1/workflows/${id}`, { status: 'active' });
  const runId = (await tenant.owner.request('POST', `/v1/workflows/${id}/runs`)).body.id as string;
  return { projectId, id, runId, version: '1' };
}

describeTenantRouteSecurity({
  fn: workflows,
  fixtures: {
    'POST /v1/projects/{projectId}/workflows': { body: { name: 'suite', steps } },
    'GET /v1/projects/{projectId}/workflows': {},
    'GET /v1/workflows/{id}': {},
    'PATCH /v1/workflows/{id}': { body: { name: 'renamed by someone else' }, apiKey: false },
    'GET /v1/workflows/{id}/versions/{version}': {},
    'POST /v1/workflows/{id}/runs': {},
    'GET /v1/workflows/{id}/runs': {},
    'GET /v1/workflows/{id}/runs/{runId}': {},
    'POST /v1/workflows/{id}/runs/{runId}/complete': { body: { step: 0, rationale: 'not mine to decide' } },
    'POST /v1/workflows/{id}/runs/{runId}/reject': { body: { step: 0, rationale: 'not mine to decide' } },
  },
  createResource: workflowWithRun,
});
