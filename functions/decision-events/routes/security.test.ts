import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import type { TestTenant } from '../../../test/tenants.ts';
import decisionEvents from '../index.ts';

describeTenantRouteSecurity({
  fn: decisionEvents,
  fixtures: {
    'POST /v1/decision-events': {
      body: async (tenant: TestTenant) => ({ projectId: (await tenant.owner.request('POST', '/v1/projects', { name: 'p' })).body.id, kind: 'decision', title: 'suite' }),
    },
    'GET /v1/decision-events': {},
    'GET /v1/decision-events/{id}': {},
    'POST /v1/decision-events/{id}/archive': {},
  },
  async createResource(tenant) {
    const project = await tenant.owner.request('POST', '/v1/projects', { name: 'their project' });
    const event = await tenant.owner.request('POST', '/v1/decision-events', { projectId: project.body.id, kind: 'decision', title: 'their decision' });
    return event.body.id;
  },
});
