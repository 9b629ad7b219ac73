import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import apiKeys from '../index.ts';

describeTenantRouteSecurity({
  fn: apiKeys,
  fixtures: {
    'POST /v1/api-keys': { body: { name: 'suite' }, apiKey: false },
    'GET /v1/api-keys': { apiKey: false },
    'DELETE /v1/api-keys/{id}': { apiKey: false },
  },
  async createResource(tenant) {
    const response = await tenant.owner.request('POST', '/v1/api-keys', { name: 'their key' });
    return response.body.id;
  },
});
