import { describe, expect, it } from 'vitest';
import { createTenant } from '../../test/tenants.ts';
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

  it('show a message from the address only after our own redirect, never one another site wrote into a link', async () => {
    const spoof = 'Your session expired. Call +1-555-0100 to restore access.';
    const url = `${env.server.url}/console/sign-in?error=${encodeURIComponent(spoof)}`;
    for (const site of ['cross-site', 'same-site']) {
      expect(await (await fetch(url, { headers: { 'sec-fetch-site': site } })).text(), site).not.toContain('restore access');
    }
    // Our own form's redirect (same-origin), our redirect after a typed address (none), and clients that send no Fetch Metadata.
    expect(await (await fetch(url, { headers: { 'sec-fetch-site': 'same-origin' } })).text()).toContain('restore access');
    expect(await (await fetch(url, { headers: { 'sec-fetch-site': 'none' } })).text()).toContain('restore access');
    expect(await (await fetch(url)).text()).toContain('restore access');
    const notice = await fetch(`${env.server.url}/console/sign-in?notice=${encodeURIComponent(spoof)}`, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(await notice.text()).not.toContain('restore access');
  });

  it('send a request carrying an API key to the sign-in page, acting on nothing, however it names the origin', async () => {
    const tenant = await createTenant(env.db, env.server, 'Keys at the console');
    const origin = new URL(env.server.url).origin;
    for (const path of ['/console/members', '/console/projects', '/console/audit']) {
      const page = await fetch(`${env.server.url}${path}`, { headers: { authorization: `Bearer ${tenant.key}` }, redirect: 'manual' });
      expect(page.status, path).toBe(303);
      expect(page.headers.get('location')).toBe('/console/sign-in');
    }
    const posted = await fetch(`${env.server.url}/console/projects`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: `Bearer ${tenant.key}`, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=By+key',
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe('/console/sign-in');
    expect((await tenant.owner.request('GET', '/v1/projects')).body.data).toEqual([]);
    // A person signed in still gets the pages and creates a project.
    expect((await tenant.owner.request('GET', '/console/members')).status).toBe(200);
    const created = await tenant.owner.form('/console/projects', { name: 'By hand' });
    expect(created.status, created.text).toBe(303);
    expect((await tenant.owner.request('GET', '/v1/projects')).body.data).toEqual([expect.objectContaining({ name: 'By hand' })]);
  });
});

