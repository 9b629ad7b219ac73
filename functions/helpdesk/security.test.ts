import { describeTenantRouteSecurity } from '../../test/security-suite.ts';
import helpdesk from './index.ts';

describeTenantRouteSecurity({
  fn: helpdesk,
  fixtures: {
    'POST /v1/helpdesk/articles': { body: { title: 'Security', body: 'Words.' } },
    'GET /v1/helpdesk/articles': {},
    'GET /v1/helpdesk/articles/{id}': {},
    'PATCH /v1/helpdesk/articles/{id}': { body: { published: true } },
    'DELETE /v1/helpdesk/articles/{id}': {},
  },
  async createResource(tenant) {
    return (await tenant.owner.request('POST', '/v1/helpdesk/articles', { title: 'Theirs', body: 'Their words.', published: true })).body.id;
  },
});
