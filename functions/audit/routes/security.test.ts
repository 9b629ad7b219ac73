import { describeTenantRouteSecurity } from '../../../test/security-suite.ts';
import audit from '../index.ts';

describeTenantRouteSecurity({
  fn: audit,
  fixtures: {
    'GET /v1/audit-log': {},
    'GET /v1/audit-log/verify': {},
    'GET /v1/audit-log/export': {},
    'GET /v1/audit-log/checkpoints': {},
    'GET /v1/audit-log/public-key': {},
  },
  // The audit routes take no ids: the tenant's chain is made by creating its organization.
  async createResource(tenant) {
    return tenant.orgId;
  },
});
