import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import projects from '../index.ts';

describeTenantRouteSecurity({
  fn: projects,
  fixtures: {
    'POST /v1/projects': { body: { name: 'Security suite project' } },
    'GET /v1/projects': {},
    'GET /v1/projects/{id}': {},
    'PATCH /v1/projects/{id}': { body: { name: 'renamed by someone else' } },
    'DELETE /v1/projects/{id}': { apiKey: false },
  },
  async createResource(tenant) {
    const response = await tenant.owner.request('POST', '/v1/projects', { name: 'Their project' });
    return response.body.id;
  },
});
