import { describe, expect, it } from 'vitest';
import { createTenant } from '../../test/tenants.ts';
import { useTestServer } from '../../test/use-server.ts';
import { UserAgent, shownMessages, uniqueEmail } from '../../test/user-agent.ts';

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

const flashCookies = (response: { headers: Headers }) => response.headers.getSetCookie().filter((cookie) => cookie.startsWith('kommit-console-flash='));
const encoded = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

// A page's one-line message comes from our own server only: back() leaves it
// in a one-time cookie for the page it redirects to. Text in a link (an email,
// a chat message) never reaches our alert box.
describe('console page messages', () => {
  const spoof = 'Your session expired. Call +1-555-0100 to restore access.';

  it('never show text from the address, however the browser says it got there', async () => {
    for (const kind of ['error', 'notice']) {
      for (const site of ['none', undefined, 'same-origin', 'cross-site', 'same-site']) {
        const page = await fetch(`${env.server.url}/console/sign-in?${kind}=${encodeURIComponent(spoof)}`, { headers: site ? { 'sec-fetch-site': site } : {} });
        expect(page.status).toBe(200);
        expect(await page.text(), `?${kind}= with Sec-Fetch-Site ${site}`).not.toContain('restore access');
      }
    }
  });

  it('come in a one-time cookie after a real action: none in the address, shown once, then cleared', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('flash'));
    await owner.createOrganization('Flash');
    const created = await owner.form('/console/projects', { name: 'Flashy' });
    expect(created.status).toBe(303);
    expect(created.headers.get('location')).toBe('/console/projects');
    expect(flashCookies(created)).toEqual([expect.stringMatching(/^kommit-console-flash=[A-Za-z0-9_-]+; Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/)]);

    const page = await owner.follow(created);
    expect(page).toMatchObject({ status: 200, path: '/console/projects', messages: { notice: 'Project Flashy created.' } });
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(flashCookies(page)).toEqual([expect.stringMatching(/^kommit-console-flash=; Max-Age=0; Path=\/; .*HttpOnly; SameSite=Lax$/)]);
    expect(owner.cookieHeader()).not.toContain('kommit-console-flash');
    const again = await owner.request('GET', '/console/projects');
    expect(shownMessages(again.text)).toEqual({});
    expect(again.text).toContain('Flashy');
  });

  it('show an error once on a page that reads both kinds, clearing the cookie once', async () => {
    const visitor = new UserAgent(env.server);
    const refused = await visitor.form('/console/sign-in', { email: uniqueEmail('nobody'), password: 'not the password' });
    expect(refused.headers.get('location')).toBe('/console/sign-in');
    const page = await visitor.follow(refused);
    expect(page.messages).toEqual({ error: expect.stringMatching(/invalid/i) });
    expect(flashCookies(page)).toHaveLength(1);
    expect(shownMessages((await visitor.request('GET', '/console/sign-in')).text)).toEqual({});
  });

  it('ignore and clear a cookie that is not one of ours, with a page all the same', async () => {
    for (const value of [
      'garbage',
      '%E0%A4%A',
      'back\\slash"quote',
      encoded('not json'),
      encoded({ error: 42 }),
      encoded(['error', 'text']),
      encoded({ error: 'x'.repeat(501) }),
      'A'.repeat(5000),
    ]) {
      const page = await fetch(`${env.server.url}/console/sign-in`, { headers: { cookie: `kommit-console-flash=${value}` } });
      expect(page.status, value.slice(0, 40)).toBe(200);
      expect(shownMessages(await page.text()), value.slice(0, 40)).toEqual({});
      expect(flashCookies(page), value.slice(0, 40)).toEqual([expect.stringMatching(/^kommit-console-flash=; Max-Age=0;/)]);
    }
  });

  it('escape what a message quotes', async () => {
    const owner = new UserAgent(env.server);
    await owner.signUp(uniqueEmail('escaped'));
    await owner.createOrganization('Escaped');
    const name = '<script>alert("x")</script> & <b>co</b>';
    const created = await owner.form('/console/projects', { name });
    expect(created.headers.get('location')).toBe('/console/projects');
    const page = await owner.follow(created);
    expect(page.messages).toEqual({ notice: `Project ${name} created.` });
    expect(page.text).toContain('Project &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt; created.');
    expect(page.text).not.toContain('<script>alert');
  });
});
