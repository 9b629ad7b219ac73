import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import projects from '../index.ts';

describeTenantRouteSecurity({
  fn: projects,
  fixtures: {
    'POST /v1/projects': { body: { name: 'Security suite project' } },
    'GET /v1/projects': {},
    'GET /v1/projects/{id}': {},
    'PATCH /v1/projects/{id}': { body: { name: 'renamed by someone else' } },
    'DELETE /v1/projects/{id}': {},
  },
  async createResource(server, tenant) {
    const response = await fetch(`${server.url}/v1/projects`, {
      method: 'POST',
      headers: tenant.headers,
      body: JSON.stringify({ name: 'Their project' }),
    });
    return ((await response.json()) as { id: string }).id;
  },
});
