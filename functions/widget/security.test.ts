import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import widget from './index.ts';

describeTenantRouteSecurity({
  fn: widget,
  fixtures: {
    'GET /v1/widget': {},
    'PUT /v1/widget': { body: { greeting: 'Hello' }, apiKey: false },
    'POST /v1/widget/identity-secret': { apiKey: false },
  },
  // The other organization's public key: no answer to this organization may contain it.
  async createResource(tenant) {
    return (await tenant.owner.request('PUT', '/v1/widget', { allowedOrigins: ['https://theirs.test'] })).body.publicKey;
  },
});
