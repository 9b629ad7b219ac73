import { describe, expect, it } from 'vitest';
import { useTestServer } from '../../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../../test/user-agent.ts';

const env = useTestServer();

// Better Auth does not check the shape of ids; every id column here is a uuid,
// so a malformed one used to reach Postgres (22P02) and come back as a bare 500.
describe('ids sent to Better Auth', () => {
  it('answer 400 problem+json naming the field when they are not UUIDs', async () => {
    const alice = new UserAgent(env.server);
    await alice.signUp(uniqueEmail('alice'));
    await alice.createOrganization('Ids');
    const cases = [
      { method: 'POST', path: '/api/auth/organization/accept-invitation', body: { invitationId: 'x' }, field: 'body.invitationId' },
      { method: 'POST', path: '/api/auth/organization/set-active', body: { organizationId: 'x' }, field: 'body.organizationId' },
      { method: 'POST', path: '/api/auth/organization/remove-member', body: { memberIdOrEmail: 'x' }, field: 'body.memberIdOrEmail' },
      { method: 'GET', path: '/api/auth/organization/get-invitation?id=x', field: 'query.id' },
      { method: 'GET', path: '/api/auth/organization/get-full-organization?organizationId=x', field: 'query.organizationId' },
    ];
    for (const { method, path, body, field } of cases) {
      const response = await alice.request(method, path, body);
      expect(response.status, path).toBe(400);
      expect(response.headers.get('content-type'), path).toBe('application/problem+json');
      expect(response.body.errors, path).toEqual([{ path: field, message: expect.stringContaining('UUID') }]);
    }
  });

  it('still take well-formed ids, emails where an id or email fits, and null where Better Auth allows it', async () => {
    const alice = new UserAgent(env.server);
    await alice.signUp(uniqueEmail('alice'));
    const org = await alice.createOrganization('Still works');
    expect((await alice.request('POST', '/api/auth/organization/set-active', { organizationId: org.id })).status).toBe(200);
    expect((await alice.request('POST', '/api/auth/organization/set-active', { organizationId: null })).status).toBe(200);
    const missing = await alice.request('GET', '/api/auth/organization/get-invitation?id=00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBeLessThan(500);
    expect(missing.status).not.toBe(200);
    const nobody = await alice.request('POST', '/api/auth/organization/remove-member', { memberIdOrEmail: uniqueEmail('nobody'), organizationId: org.id });
    expect(nobody.status).toBeGreaterThanOrEqual(400);
    expect(nobody.status).toBeLessThan(500);
  });

  it('answer 400, not 500, for a database-level data error the id check does not know about', async () => {
    const alice = new UserAgent(env.server);
    await alice.signUp(uniqueEmail('alice'));
    await alice.createOrganization('Filtered');
    // filterValue is compared with whatever column filterField names: no field list can know its type.
    const response = await alice.request('GET', '/api/auth/organization/list-members?filterField=userId&filterValue=x');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('listing members', () => {
  it('answers 400 naming the parameter for a field members do not have or a filter cannot take, or a paging value that is not a number', async () => {
    const alice = new UserAgent(env.server);
    await alice.signUp(uniqueEmail('alice'));
    await alice.createOrganization('Listing');
    for (const [query, field] of [
      ['filterField=nosuch&filterValue=x', 'query.filterField'],
      ['sortBy=nosuch', 'query.sortBy'],
      // The adapter hands a createdAt filter's value to the column as text: a 500 for every value.
      ['filterField=createdAt&filterValue=2020-01-01T00:00:00Z', 'query.filterField'],
      ['limit=ten', 'query.limit'],
    ]) {
      const response = await alice.request('GET', `/api/auth/organization/list-members?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type'), query).toBe('application/problem+json');
      expect(response.body.errors.map((e: { path: string }) => e.path), query).toEqual([field]);
    }
    const listed = await alice.request('GET', '/api/auth/organization/list-members?sortBy=createdAt&filterField=role&filterValue=owner&limit=10');
    expect(listed.status).toBe(200);
    expect(listed.body.members).toHaveLength(1);
  });
});
