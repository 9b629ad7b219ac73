import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog } from '../../../db/schema/audit.ts';
import { CLIENT_ADDRESS_HEADER } from '../../../middleware/addresses.ts';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

const env = useTestServer();

/** A user in two organizations, working in the second one created. */
async function userInTwoOrganizations() {
  const user = new UserAgent(env.server);
  await user.signUp(uniqueEmail('switcher'));
  const first = await user.createOrganization('First');
  const second = await user.createOrganization('Second');
  return { user, first, second };
}

const switches = (orgId: string) =>
  env.db.admin.withTenant(orgId, (tx) => tx.select().from(auditLog).where(and(eq(auditLog.orgId, orgId), eq(auditLog.action, 'session.switch_organization'))));

describe('POST /v1/session/active-organization', () => {
  it('refuses a switch sent from another site (the cookie rides along; the Origin does not match), 403 problem+json', async () => {
    const { user, first, second } = await userInTwoOrganizations();
    const refused = await user.request('POST', '/v1/session/active-organization', { organizationId: first.id }, { origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.body.type).toBe('urn:kommit:problem:forbidden');
    expect((await user.request('GET', '/v1/session')).body.activeOrganizationId).toBe(second.id);
    expect(await switches(first.id)).toEqual([]);
    // From our own origin it switches.
    expect((await user.request('POST', '/v1/session/active-organization', { organizationId: first.id })).status).toBe(200);
  });

  it('records the address the platform saw, not one the client names, in the audit row', async () => {
    const { user, first } = await userInTwoOrganizations();
    const switched = await user.request('POST', '/v1/session/active-organization', { organizationId: first.id }, { [CLIENT_ADDRESS_HEADER]: '203.0.113.66' });
    expect(switched.status).toBe(200);
    expect((await switches(first.id)).map((row) => row.ip)).toEqual(['127.0.0.1']);
  });
});
