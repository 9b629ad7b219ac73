import { describe, expect, it } from 'vitest';
import { useTestServer } from '../../test/use-server.ts';
import { UserAgent, uniqueEmail } from '../../test/user-agent.ts';

const env = useTestServer();

// The console answers errors as pages, with the status the API gives the
// same error: a value Postgres refuses (SQLSTATE class 22) is the client's.
describe('console error pages', () => {
  it('answer a NUL character in a form with a 400 page, as the API answers it, and store nothing', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('owner'));
    await owner.createOrganization('Console errors');
    const api = await owner.request('POST', '/v1/projects', { name: 'a\u0000b' });
    expect(api.status).toBe(400);

    const page = await owner.form('/console/projects', { name: 'a\u0000b' });
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain(api.body.detail);
    expect((await owner.request('GET', '/v1/projects')).body.data).toEqual([]);
  });
});
